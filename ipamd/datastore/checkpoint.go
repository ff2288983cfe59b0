package datastore

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// checkpointVersion is the version of the checkpoint format written.
//
// Version 1 is one JSON object: {"version":1, "enis":[ENI...],
// "allocations":[Allocation...], "cooling":[{"ip":..., "until":...}]}, the
// ENIs in ENI order with their blocks in the order they were added. An
// allocation's ENI, device index and route table follow from the block
// holding its address. While a Quarantine rule is in force the object also
// has "quarantine":{"until":..., "within":[prefix...]} (within left out:
// every address); an older reader ignores it.
const checkpointVersion = 1

type checkpointFile struct {
	Version     int             `json:"version"`
	ENIs        []ENI           `json:"enis"`
	Allocations []Allocation    `json:"allocations"`
	Cooling     []coolRecord    `json:"cooling"`
	Quarantine  *QuarantineRule `json:"quarantine,omitempty"`
}

type coolRecord struct {
	IP    netip.Addr `json:"ip"`
	Until time.Time  `json:"until"`
}

// save encodes the state and writes it; the error wraps ErrCheckpoint.
func (s *Store) save() error {
	buf, err := s.st.appendCheckpoint(s.buf[:0])
	if err == nil {
		s.buf = buf
		err = s.opts.WriteFile(s.opts.Path, buf)
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCheckpoint, err)
	}
	s.damaged = false
	return nil
}

// appendCheckpoint appends the state's checkpoint JSON to buf. The JSON of
// ENIs and allocations is cached between writes, so a write costs little
// more than copying bytes.
func (st *state) appendCheckpoint(buf []byte) ([]byte, error) {
	buf = append(buf, `{"version":`...)
	buf = strconv.AppendInt(buf, checkpointVersion, 10)
	buf = append(buf, `,"enis":[`...)
	for i, e := range st.order {
		if e.frag == nil {
			f, err := json.Marshal(e.public())
			if err != nil {
				return buf, fmt.Errorf("encode eni %s: %w", e.eni.ID, err)
			}
			e.frag = f
		}
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, e.frag...)
	}
	buf = append(buf, `],"allocations":[`...)
	n := 0
	for _, e := range st.order {
		for _, b := range e.blocks {
			for i := 0; b.assigned > 0 && i < len(b.slots); i++ {
				a := b.slots[i].alloc
				if a == nil {
					continue
				}
				if a.frag == nil {
					f, err := json.Marshal(a.pub)
					if err != nil {
						return buf, fmt.Errorf("encode allocation %s: %w", a.pub.IP, err)
					}
					a.frag = f
				}
				if n > 0 {
					buf = append(buf, ',')
				}
				n++
				buf = append(buf, a.frag...)
			}
		}
	}
	buf = st.appendCooling(append(buf, `],"cooling":[`...))
	if q := st.quarantine; q != nil {
		buf = append(append(buf, `,"quarantine":`...), q.frag...)
	}
	return append(buf, "}\n"...), nil
}

func (st *state) appendCooling(buf []byte) []byte {
	n := 0
	for _, e := range st.order {
		for _, b := range e.blocks {
			for i := 0; b.cooling > 0 && i < len(b.slots); i++ {
				until := b.slots[i].coolUntil
				if until.IsZero() {
					continue
				}
				if n > 0 {
					buf = append(buf, ',')
				}
				n++
				buf = append(buf, `{"ip":"`...)
				buf = b.addr(i).AppendTo(buf)
				buf = append(buf, `","until":"`...)
				buf = until.AppendFormat(buf, time.RFC3339Nano)
				buf = append(buf, `"}`...)
			}
		}
	}
	return append(buf, ']')
}

// writeFileAtomic replaces path with data: a temp file in the same
// directory, written and fsynced, renamed over path, then the directory
// fsynced so that the rename survives a crash.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if errors.Is(err, fs.ErrNotExist) {
		if err = os.MkdirAll(dir, 0o700); err == nil {
			f, err = os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		}
	}
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// Load restores the checkpoint, if any, replacing what the store holds. A
// missing file is an empty store. A corrupt or truncated one, or one of
// another instance (its primary ENI is not Options.PrimaryENI), is reported
// in the LoadReport (not an error) and the store starts empty, to be
// rebuilt from the cloud and the host; a copy is kept for forensics at
// <path>.corrupt-<unix time> (or .foreign-), a hard link, and the file
// stays where it is until the store's next write replaces it: a crash
// before then finds it again, and the rebuild is done again. The caller's
// first write should thus be the one that makes the rebuild safe
// (Quarantine). Only an I/O failure is an error. Memory-only stores load
// nothing.
func (s *Store) Load() (LoadReport, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.notify()
	s.st, s.damaged = newState(), false
	path := s.opts.Path
	if path == "" {
		return LoadReport{}, nil
	}
	if err := os.Remove(path + ".tmp"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return LoadReport{}, fmt.Errorf("load checkpoint: %w", err)
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return LoadReport{}, nil
	}
	if err != nil {
		return LoadReport{}, fmt.Errorf("load checkpoint: %w", err)
	}
	now := s.now()
	st, rep, cerr := decodeCheckpoint(data, now)
	if cerr == nil {
		cerr = st.foreignTo(s.opts.PrimaryENI)
	}
	if cerr == nil {
		s.st = st
		return rep, nil
	}
	kind := "corrupt"
	if errors.Is(cerr, ErrForeign) {
		kind = "foreign"
	}
	aside, err := setAside(path, kind, now, data)
	if err != nil {
		return LoadReport{}, fmt.Errorf("load checkpoint: keep a copy of the %s checkpoint: %w", kind, err)
	}
	s.damaged = true
	return LoadReport{Corrupt: cerr, CorruptPath: aside}, nil
}

// foreignTo says why a checkpoint is not the instance's whose primary ENI
// is primary (none given: any instance's): its primary ENI is another.
// Restored, it would keep that ENI's addresses for good (a primary ENI never
// leaves its instance, so the reconciliation never drops it) and hand them
// out. A checkpoint without a primary ENI holds nothing the reconciliation
// would keep.
func (st *state) foreignTo(primary string) error {
	if primary == "" {
		return nil
	}
	for _, e := range st.order {
		if e.eni.Primary && e.eni.ID != primary {
			return fmt.Errorf("%w: %w: its primary ENI is %s, this instance's is %s", ErrCorrupt, ErrForeign, e.eni.ID, primary)
		}
	}
	return nil
}

// maxAsideCopies bounds the copies of damaged checkpoints kept in one
// second (a crash loop would otherwise add one per start).
const maxAsideCopies = 10

// setAside keeps a copy of the checkpoint at path, whose content is data,
// at <path>.<kind>-<unix time> (-2, -3, ... after it when taken): a hard
// link, or a copy where the file system has none. The checkpoint stays
// where it is.
func setAside(path, kind string, now time.Time, data []byte) (string, error) {
	base := path + "." + kind + "-" + strconv.FormatInt(now.Unix(), 10)
	for i := 1; i <= maxAsideCopies; i++ {
		aside := base
		if i > 1 {
			aside += "-" + strconv.Itoa(i)
		}
		err := os.Link(path, aside)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			err = writeFileAtomic(aside, data)
		}
		if err == nil {
			err = syncDir(filepath.Dir(path))
		}
		return aside, err
	}
	return base, fmt.Errorf("%s and %d more copies exist already", base, maxAsideCopies-1)
}

// decodeCheckpoint parses and checks a checkpoint; the error wraps
// ErrCorrupt and says what is wrong. Cooldowns that ended by now are
// dropped.
func decodeCheckpoint(data []byte, now time.Time) (*state, LoadReport, error) {
	var v struct {
		Version *int `json:"version"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, LoadReport{}, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if v.Version == nil || *v.Version != checkpointVersion {
		got := "none"
		if v.Version != nil {
			got = strconv.Itoa(*v.Version)
		}
		return nil, LoadReport{}, fmt.Errorf("%w: format version %s, want %d", ErrCorrupt, got, checkpointVersion)
	}
	var f checkpointFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, LoadReport{}, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	st := newState()
	rep := LoadReport{ENIs: len(f.ENIs), Allocations: len(f.Allocations)}
	for _, e := range f.ENIs {
		if _, err := st.addENI(e); err != nil {
			return nil, LoadReport{}, fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
	}
	for _, a := range f.Allocations {
		if err := st.restoreAllocation(a); err != nil {
			return nil, LoadReport{}, fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
	}
	for _, c := range f.Cooling {
		cooling, err := st.restoreCooling(c, now)
		if err != nil {
			return nil, LoadReport{}, fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
		if cooling {
			rep.Cooling++
		}
	}
	if err := st.restoreQuarantine(f.Quarantine, now); err != nil {
		return nil, LoadReport{}, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return st, rep, nil
}

// restoreAllocation adds a checkpointed allocation after checking that its
// address is a usable one of its ENI's blocks and held by no one else.
func (st *state) restoreAllocation(r Allocation) error {
	where := fmt.Sprintf("allocation %s/%s of %s", r.ContainerID, r.IfName, r.IP)
	if r.ContainerID == "" || r.IfName == "" {
		return fmt.Errorf("%s: empty container id or interface name", where)
	}
	b := st.blockFor(r.IP)
	if b == nil || b.eni.eni.ID != r.ENI || (r.Block.IsValid() && r.Block != b.prefix) {
		return fmt.Errorf("%s: the address is in none of %s's blocks", where, r.ENI)
	}
	off, _ := b.offset(r.IP)
	switch {
	case b.usable&(1<<off) == 0:
		return fmt.Errorf("%s: the address is %s's primary address", where, r.ENI)
	case b.slots[off].alloc != nil:
		return fmt.Errorf("%s: the address is held twice", where)
	case st.allocs[r.Key] != nil:
		return fmt.Errorf("%s: the container interface holds two addresses", where)
	}
	e := b.eni.eni
	r.Block, r.DeviceIndex, r.RouteTable = b.prefix, e.DeviceIndex, e.RouteTable()
	r.AssignedAt = r.AssignedAt.UTC()
	st.assign(&allocation{pub: r, b: b, off: off})
	return nil
}

// restoreCooling restores a checkpointed cooldown that has not ended by
// now; cooling says whether it had not.
func (st *state) restoreCooling(c coolRecord, now time.Time) (cooling bool, err error) {
	b := st.blockFor(c.IP)
	if b == nil {
		return false, fmt.Errorf("cooling address %s is in no block", c.IP)
	}
	off, _ := b.offset(c.IP)
	s := b.slots[off]
	switch {
	case c.Until.IsZero():
		return false, fmt.Errorf("cooling address %s has no end time", c.IP)
	case b.usable&(1<<off) == 0:
		return false, fmt.Errorf("cooling address %s is %s's primary address", c.IP, b.eni.eni.ID)
	case s.alloc != nil:
		return false, fmt.Errorf("address %s is both assigned and cooling", c.IP)
	case !s.coolUntil.IsZero():
		return false, fmt.Errorf("address %s is cooling twice", c.IP)
	}
	if !now.Before(c.Until) {
		return false, nil
	}
	b.avail &^= 1 << off
	st.cool(b, off, c.Until.UTC())
	st.reindex(b)
	return true, nil
}
