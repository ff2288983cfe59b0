package datastore

import (
	"errors"
	"net/netip"
	"time"
)

// CONTRACT STUB: the exported signatures below are the contract with the
// pool manager, the IPAM service and the daemon; bodies are filled in by the
// datastore work.

var errTODO = errors.New("not implemented")

// Options configures a Store.
type Options struct {
	// Path of the checkpoint file, e.g. /run/vpc-cni/ipam.json. Empty:
	// in memory only (tests).
	Path string
	// Cooldown is how long a released address waits before reuse
	// (IP_COOLDOWN_PERIOD).
	Cooldown time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// LoadReport says what Load restored.
type LoadReport struct {
	ENIs        int
	Allocations int
	Cooling     int
	// Corrupt is set when the checkpoint existed but could not be read;
	// it was moved aside to CorruptPath and the store starts empty.
	Corrupt     error
	CorruptPath string
}

// Store is the datastore. Safe for concurrent use.
type Store struct{}

// New returns an empty store.
func New(opts Options) *Store { return &Store{} }

// Load restores the checkpoint, if any. A missing file is an empty store; a
// corrupt or truncated one is reported in the LoadReport (not an error), moved
// aside, and the store starts empty, to be rebuilt from the cloud and the host.
// Only an I/O failure is an error.
func (s *Store) Load() (LoadReport, error) { return LoadReport{}, errTODO }

// AddENI starts managing an ENI with its blocks. ErrExists if known.
func (s *Store) AddENI(e ENI) error { return errTODO }

// RemoveENI stops managing an ENI. ErrInUse while any of its addresses is
// assigned or cooling.
func (s *Store) RemoveENI(id string) error { return errTODO }

// AddBlocks adds /32 or /28 blocks to a known ENI.
func (s *Store) AddBlocks(eniID string, blocks []netip.Prefix) error { return errTODO }

// RemoveBlocks removes blocks from an ENI; ErrInUse (and nothing removed)
// if any of their addresses is assigned or cooling.
func (s *Store) RemoveBlocks(eniID string, blocks []netip.Prefix) error { return errTODO }

// Assign gives the key an address: the one it already holds if any
// (idempotent), else a free cooled-down one. ErrNoAddress when there is
// none. The checkpoint is written before it returns.
func (s *Store) Assign(key Key, pod Pod) (Allocation, error) { return Allocation{}, errTODO }

// Release frees the key's address into cooldown; found is false (and err
// nil) when the key holds nothing. The checkpoint is written before it
// returns.
func (s *Store) Release(key Key) (a Allocation, found bool, err error) {
	return Allocation{}, false, errTODO
}

// ReleaseWhere releases every allocation the predicate selects (pods that
// are gone, attachments the runtime no longer holds), with one checkpoint
// write, and returns them.
func (s *Store) ReleaseWhere(pred func(Allocation) bool) ([]Allocation, error) { return nil, errTODO }

// Get returns the key's allocation.
func (s *Store) Get(key Key) (Allocation, bool) { return Allocation{}, false }

// Allocations lists every allocation, ordered by IP.
func (s *Store) Allocations() []Allocation { return nil }

// ENIs lists the managed ENIs, ordered by network card and device index.
func (s *Store) ENIs() []ENI { return nil }

// FreeBlocks returns an ENI's blocks none of whose addresses is assigned or
// cooling, in the order they should be released (the most recently added
// first).
func (s *Store) FreeBlocks(eniID string) []netip.Prefix { return nil }

// Stats counts blocks and addresses now.
func (s *Store) Stats() Stats { return Stats{} }

// Changed returns a channel closed at the next change that can make an
// Assign succeed (blocks added, a cooldown expiring is not a change: callers
// also poll on a timer).
func (s *Store) Changed() <-chan struct{} { return nil }
