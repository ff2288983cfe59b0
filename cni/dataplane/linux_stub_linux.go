package dataplane

import "errors"

// Linux is the dataplane over netlink.
type Linux struct{ opts Options }

var _ Dataplane = (*Linux)(nil)

// New opens the host namespace.
func New(o Options) (*Linux, error) { return &Linux{opts: o}, nil }

// Close releases the host namespace's handle.
func (l *Linux) Close() error { return nil }

func (l *Linux) Setup(p Pod) (Wired, error) { return Wired{}, errors.New("not implemented") }
func (l *Linux) Teardown(t Teardown) error  { return errors.New("not implemented") }
func (l *Linux) Check(p Pod) error          { return errors.New("not implemented") }
