package ipam

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vpc-cni/vpc-cni/ipamd/datastore"
)

func TestStatus(t *testing.T) {
	ctx := context.Background()
	store := datastore.New(datastore.Options{Cooldown: 30 * time.Second})
	if err := store.AddENI(primaryENI(1)); err != nil {
		t.Fatal(err)
	}
	p := newFakePool()
	svc := New(store, p, Options{})

	type step struct {
		name  string
		do    func()
		ready bool
		avail int
		want  string // substring of Reason
	}
	steps := []step{
		{"starting", func() {}, false, 0, "starting"},
		{"ready with an address", svc.SetReady, true, 1, ""},
		{"empty, growing", func() { mustAdd(t, svc, 1) }, true, 0, ""},
		// A transient cause: every ADD would fail until it clears.
		{"empty, throttled", func() { p.block("EC2 throttling; retrying", false) }, false, 0, "EC2 throttling; retrying"},
		{"empty, subnet full", func() { p.block("subnet subnet-1 has no free addresses", false) }, false, 0, "subnet subnet-1 has no free addresses"},
		{"empty, growing again", func() { p.block("", false) }, true, 0, ""},
		{"empty, at a limit", func() { p.block("max pods reached (1)", true) }, false, 0, "max pods reached (1)"},
		{"at a limit, cooling", func() { mustDel(t, svc, 1) }, false, 0, "1 released addresses are cooling down"},
	}
	for _, s := range steps {
		s.do()
		got := svc.Status(ctx)
		if got.Ready != s.ready || got.Available != s.avail || !strings.Contains(got.Reason, s.want) ||
			(s.ready && got.Reason != "") {
			t.Errorf("%s: %+v, want ready %v, available %d, reason with %q", s.name, got, s.ready, s.avail, s.want)
		}
	}
}

func mustAdd(t *testing.T, svc *Service, n int) {
	t.Helper()
	if _, err := svc.Add(context.Background(), key(n), pod(n)); err != nil {
		t.Fatalf("Add: %v", err)
	}
}

func mustDel(t *testing.T, svc *Service, n int) {
	t.Helper()
	if _, found, err := svc.Del(context.Background(), key(n)); err != nil || !found {
		t.Fatalf("Del: found %v, %v", found, err)
	}
}

func TestFailureOf(t *testing.T) {
	tests := []struct {
		err  error
		want Failure
	}{
		{nil, ""},
		{ErrInvalid, FailureInvalid},
		{errors.Join(errors.New("x"), ErrNotReady), FailureNotReady},
		{&ExhaustedError{Cause: "subnet full"}, FailureExhausted},
		{fmt.Errorf("add: %w", &ExhaustedError{Cause: "subnet full", Class: "subnet-exhausted"}), "subnet-exhausted"},
		{&ExhaustedError{Cause: "max pods reached (29)", Class: "max-pods", Permanent: true}, "max-pods"},
		// A class that would be ambiguous or a poor label is not used.
		{&ExhaustedError{Cause: "InternalError; retrying", Class: "other"}, FailureExhausted},
		{&ExhaustedError{Cause: "x", Class: "canceled"}, FailureExhausted},
		{&ExhaustedError{Cause: "x", Class: "Subnet Exhausted"}, FailureExhausted},
		{&ExhaustedError{Cause: "x", Class: strings.Repeat("a", 33)}, FailureExhausted},
		{errors.Join(errors.New("assign"), datastore.ErrCheckpoint), FailureCheckpoint},
		{context.Canceled, FailureCanceled},
		{context.DeadlineExceeded, FailureCanceled},
		{errors.New("boom"), FailureOther},
	}
	for _, tc := range tests {
		if got := FailureOf(tc.err); got != tc.want {
			t.Errorf("FailureOf(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
	if n := len(Failures()); n != 6 {
		t.Errorf("%d failure kinds, want 6", n)
	}
}
