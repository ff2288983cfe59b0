package fake

import (
	"errors"
	"testing"
	"time"

	"github.com/vpc-cni/vpc-cni/cloud"
)

var t0 = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

// delayed builds a fake on a manual clock with the given attach and detach
// delays and metadata lag.
func delayed(t *testing.T, attach, detach, lag time.Duration) (*Cloud, *Clock) {
	t.Helper()
	clk := NewClock(t0)
	c := newFake(t, Options{Now: clk.Now, AttachDelay: attach, DetachDelay: detach})
	c.SetMetadataLag(lag)
	return c, clk
}

// TestAttachDetachStates steps one ENI through attach and detach with
// delays and checks, at each step, what the API and metadata show and
// whether the ENI can be deleted.
func TestAttachDetachStates(t *testing.T) {
	c, clk := delayed(t, 2*time.Second, 3*time.Second, time.Second)
	inst := c.Instance()
	e, err := c.CreateENI(bg, cloud.CreateENIRequest{SubnetID: inst.SubnetID})
	if err != nil {
		t.Fatal(err)
	}
	var attID string
	attach := func() error {
		var err error
		attID, err = c.AttachENI(bg, e.ID, inst.ID, 1, 0)
		return err
	}
	detach := func() error { return c.DetachENI(bg, attID, false) }
	type want struct {
		status   string
		state    cloud.AttachmentState // "" for no attachment
		metadata bool
	}
	steps := []struct {
		name    string
		advance time.Duration
		do      func() error
		want    want
	}{
		{"attach", 0, attach, want{cloud.ENIAttaching, cloud.Attaching, false}},
		{"still attaching", 1999 * time.Millisecond, nil, want{cloud.ENIAttaching, cloud.Attaching, false}},
		{"attached, metadata lags", time.Millisecond, nil, want{cloud.ENIInUse, cloud.Attached, false}},
		{"metadata shows it", time.Second, nil, want{cloud.ENIInUse, cloud.Attached, true}},
		{"detach", 0, detach, want{cloud.ENIDetaching, cloud.Detaching, true}},
		{"detach again does nothing", time.Second, detach, want{cloud.ENIDetaching, cloud.Detaching, true}},
		{"still detaching", 1999 * time.Millisecond, nil, want{cloud.ENIDetaching, cloud.Detaching, true}},
		{"detached, metadata lags", time.Millisecond, nil, want{cloud.ENIAvailable, "", true}},
		{"metadata drops it", time.Second, nil, want{cloud.ENIAvailable, "", false}},
	}
	for _, s := range steps {
		clk.Advance(s.advance)
		if s.do != nil {
			if err := s.do(); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
		}
		got, _ := c.ENI(e.ID)
		var state cloud.AttachmentState
		if got.Attachment != nil {
			state = got.Attachment.State
		}
		_, mdErr := c.Metadata().ENI(bg, e.MAC)
		if g := (want{got.Status, state, mdErr == nil}); g != s.want {
			t.Fatalf("%s: got %+v, want %+v", s.name, g, s.want)
		}
		listed, _ := c.InstanceENIs(bg, inst.ID)
		if inList := len(listed) == 2; inList != (state != "") {
			t.Fatalf("%s: InstanceENIs lists %d ENIs with the attachment %q", s.name, len(listed), state)
		}
		if state == "" {
			continue
		}
		if err := c.DeleteENI(bg, e.ID); !errors.Is(err, cloud.ErrInUse) {
			t.Fatalf("%s: DeleteENI err = %v, want ErrInUse", s.name, err)
		}
		if _, err := c.AttachENI(bg, e.ID, inst.ID, 2, 0); !errors.Is(err, cloud.ErrInUse) {
			t.Fatalf("%s: AttachENI again err = %v, want ErrInUse", s.name, err)
		}
		if err := c.SetDeleteOnTermination(bg, e.ID, attID, true); err != nil {
			t.Fatalf("%s: SetDeleteOnTermination: %v", s.name, err)
		}
	}
	if err := detach(); !errors.Is(err, cloud.ErrNotFound) {
		t.Fatalf("detach after completion: err = %v, want ErrNotFound", err)
	}
	if err := c.DeleteENI(bg, e.ID); err != nil {
		t.Fatalf("delete once detached: %v", err)
	}
}

// TestTransitionsHoldSlots: an ENI attaching or detaching keeps its device
// index and counts toward the instance's ENI limit.
func TestTransitionsHoldSlots(t *testing.T) {
	c, clk := delayed(t, time.Second, time.Second, 0)
	inst := c.Instance()
	create := func() cloud.ENI {
		e, err := c.CreateENI(bg, cloud.CreateENIRequest{SubnetID: inst.SubnetID})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	a, b, d := create(), create(), create()
	attA, err := c.AttachENI(bg, a.ID, inst.ID, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AttachENI(bg, b.ID, inst.ID, 1, 0); !errors.Is(err, cloud.ErrInvalidParameter) {
		t.Fatalf("device index of an attaching ENI: err = %v, want ErrInvalidParameter", err)
	}
	if _, err := c.AttachENI(bg, b.ID, inst.ID, 2, 0); err != nil {
		t.Fatal(err)
	}
	// m5.large takes 3 ENIs: the primary, a and b, two of them attaching.
	if _, err := c.AttachENI(bg, d.ID, inst.ID, 3, 0); !errors.Is(err, cloud.ErrENILimit) {
		t.Fatalf("fourth ENI while two attach: err = %v, want ErrENILimit", err)
	}
	clk.Advance(time.Second)
	if err := c.DetachENI(bg, attA, false); err != nil {
		t.Fatal(err)
	}
	for _, idx := range []int{1, 3} {
		_, err := c.AttachENI(bg, d.ID, inst.ID, idx, 0)
		if !errors.Is(err, cloud.ErrInvalidParameter) && !errors.Is(err, cloud.ErrENILimit) {
			t.Fatalf("at %d while a detaches: err = %v, want its slot still held", idx, err)
		}
	}
	clk.Advance(time.Second)
	if _, err := c.AttachENI(bg, d.ID, inst.ID, 1, 0); err != nil {
		t.Fatalf("once the detach completed: %v", err)
	}
}

// TestDetachWhileAttaching: metadata never shows an ENI whose attach did
// not complete; it becomes available when the detach completes.
func TestDetachWhileAttaching(t *testing.T) {
	c, clk := delayed(t, 5*time.Second, time.Second, 0)
	inst := c.Instance()
	e, _ := c.CreateENI(bg, cloud.CreateENIRequest{SubnetID: inst.SubnetID})
	att, err := c.AttachENI(bg, e.ID, inst.ID, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Addresses can change while it attaches; metadata still must not show it.
	if _, err := c.AssignIPs(bg, e.ID, 2); err != nil {
		t.Fatal(err)
	}
	if err := c.DetachENI(bg, att, false); err != nil {
		t.Fatal(err)
	}
	for _, step := range []time.Duration{0, 500 * time.Millisecond, 500 * time.Millisecond, 5 * time.Second} {
		clk.Advance(step)
		if _, err := c.Metadata().ENI(bg, e.MAC); !errors.Is(err, cloud.ErrNotFound) {
			t.Fatalf("metadata shows an ENI that never finished attaching: %v", err)
		}
	}
	if got, _ := c.ENI(e.ID); got.Status != cloud.ENIAvailable || got.Attachment != nil {
		t.Fatalf("ENI = %+v, want available", got)
	}
}

// TestCompletionTimes: an attach completes when its delay runs out, not
// when the fake next looks; metadata history keeps changes in time order.
func TestCompletionTimes(t *testing.T) {
	c, clk := delayed(t, 5*time.Second, 0, time.Second)
	inst := c.Instance()
	e, _ := c.CreateENI(bg, cloud.CreateENIRequest{SubnetID: inst.SubnetID})
	if _, err := c.AttachENI(bg, e.ID, inst.ID, 1, 0); err != nil { // t=0, done at 5
		t.Fatal(err)
	}
	clk.Advance(3 * time.Second)
	pfx, err := c.AssignPrefixes(bg, inst.PrimaryENI, 1) // t=3
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		advance        time.Duration
		prefix, attach bool
	}{
		{2500 * time.Millisecond, true, false}, // t=5.5: the assign shows, the attach not yet
		{500 * time.Millisecond, true, true},   // t=6: the attach at 5 shows
		{time.Hour, true, true},
	}
	for i, s := range steps {
		clk.Advance(s.advance)
		all, err := c.Metadata().ENIs(bg)
		if err != nil {
			t.Fatal(err)
		}
		if got := all[0].HasPrefixes(pfx); got != s.prefix {
			t.Fatalf("step %d: prefix shown %v, want %v", i, got, s.prefix)
		}
		if got := len(all) == 2; got != s.attach {
			t.Fatalf("step %d: attached ENI shown %v, want %v", i, got, s.attach)
		}
	}
}

// TestDelaySetters: a new delay applies to what starts afterwards; pending
// attachments keep theirs.
func TestDelaySetters(t *testing.T) {
	c, clk := delayed(t, 0, 0, 0)
	inst := c.Instance()
	first := mustAttach(t, c, 1)
	if first.Attachment.State != cloud.Attached {
		t.Fatalf("with no delay the attach completes in the call: %+v", first.Attachment)
	}
	c.SetAttachDelay(10 * time.Second)
	c.SetDetachDelay(-time.Second) // taken as 0
	e, _ := c.CreateENI(bg, cloud.CreateENIRequest{SubnetID: inst.SubnetID})
	if _, err := c.AttachENI(bg, e.ID, inst.ID, 2, 0); err != nil {
		t.Fatal(err)
	}
	c.SetAttachDelay(0)
	clk.Advance(9 * time.Second)
	if got, _ := c.ENI(e.ID); got.Attachment.State != cloud.Attaching {
		t.Fatalf("pending attach took the new delay: %+v", got.Attachment)
	}
	clk.Advance(time.Second)
	if got, _ := c.ENI(e.ID); got.Attachment.State != cloud.Attached {
		t.Fatalf("attach did not complete after its delay: %+v", got.Attachment)
	}
	if err := c.DetachENI(bg, first.Attachment.ID, false); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.ENI(first.ID); got.Attachment != nil {
		t.Fatalf("a negative detach delay did not act as 0: %+v", got.Attachment)
	}
}
