package echo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"sync"
)

// ErrWrongSource: the receiver answered but saw another source address
// than the check wants (a NAT where there must be none, or none where
// there must be one).
var ErrWrongSource = errors.New("receiver saw the wrong source")

// ProbeFunc is Probe's shape; tests give checks a fake.
type ProbeFunc func(ctx context.Context, netnsPath string, target netip.AddrPort, proto string) (Reply, error)

var _ ProbeFunc = Probe

// Check is one connectivity assertion: a probe from a namespace to an echo
// server, passing when the server answers and saw WantSeen as the source.
// The orchestrator fills the first block and runs it; Run fills Got and
// Err.
type Check struct {
	// Name says what the check proves, e.g. "pod→pod across nodes".
	Name string `json:"name"`
	// From and To label the sender and the receiver for a report, e.g.
	// "vpclab-n1-p1" and "node2".
	From string `json:"from"`
	To   string `json:"to"`
	// FromNS is the network namespace path the probe runs in ("" = the
	// caller's).
	FromNS string `json:"fromNS,omitempty"`
	// Target is the receiver's echo server.
	Target netip.AddrPort `json:"target"`
	// Proto is "tcp" or "udp".
	Proto string `json:"proto"`
	// WantSeen is the source address the receiver must see.
	WantSeen netip.Addr `json:"wantSeen"`

	// Got is the receiver's reply; Err the probe's error.
	Got Reply `json:"got"`
	Err error `json:"-"`
}

// Pass: the probe got a reply and the receiver saw WantSeen.
func (c Check) Pass() bool { return c.Err == nil && c.Got.Seen == c.WantSeen }

// Problem is why the check failed: the probe's error, or ErrWrongSource
// with what was seen; nil when it passed.
func (c Check) Problem() error {
	switch {
	case c.Err != nil:
		return c.Err
	case c.Got.Seen != c.WantSeen:
		return fmt.Errorf("%w: %s saw %s, want %s", ErrWrongSource, c.label(c.To, c.Target.Addr()), addrText(c.Got.Seen), addrText(c.WantSeen))
	}
	return nil
}

// Run probes the target from FromNS and records the outcome.
func (c *Check) Run(ctx context.Context) { c.RunWith(ctx, Probe) }

// RunWith is Run with another probe (a fake in tests). Each probe is
// bounded by DefaultTimeout even under a longer ctx: one lost packet must
// not hold a whole matrix for the caller's deadline.
func (c *Check) RunWith(ctx context.Context, probe ProbeFunc) {
	ctx, cancel := context.WithTimeout(ctx, DefaultTimeout)
	defer cancel()
	c.Got, c.Err = probe(ctx, c.FromNS, c.Target, c.Proto)
}

// String is a one-line summary: name, route, verdict and problem.
func (c Check) String() string {
	s := fmt.Sprintf("%s: %s -> %s (%s %s)", c.Name, c.From, c.label(c.To, c.Target.Addr()), c.Proto, c.Target)
	if err := c.Problem(); err != nil {
		return s + ": FAIL: " + err.Error()
	}
	return s + ": PASS"
}

func (c Check) label(name string, a netip.Addr) string {
	if name != "" {
		return name
	}
	return addrText(a)
}

func addrText(a netip.Addr) string {
	if !a.IsValid() {
		return "nothing"
	}
	return a.String()
}

// RunAll runs every check, at most workers at a time (at least one), with
// probe (nil = Probe), and returns how many failed.
func RunAll(ctx context.Context, cs []Check, workers int, probe ProbeFunc) (failed int) {
	if probe == nil {
		probe = Probe
	}
	workers = max(workers, 1)
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	for i := range cs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			cs[i].RunWith(ctx, probe)
		})
	}
	wg.Wait()
	for _, c := range cs {
		if !c.Pass() {
			failed++
		}
	}
	return failed
}

// checkJSON is Check on the wire: Err as its text.
type checkJSON struct {
	checkFields
	Error string `json:"error,omitempty"`
}

type checkFields Check

// MarshalJSON writes the check with its error as text (lab.json, a saved
// report).
func (c Check) MarshalJSON() ([]byte, error) {
	j := checkJSON{checkFields: checkFields(c)}
	if c.Err != nil {
		j.Error = c.Err.Error()
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads what MarshalJSON wrote; the error comes back as
// plain text (its sentinels are lost).
func (c *Check) UnmarshalJSON(b []byte) error {
	var j checkJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*c = Check(j.checkFields)
	if j.Error != "" {
		c.Err = errors.New(j.Error)
	}
	return nil
}
