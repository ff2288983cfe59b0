package echo

import (
	"fmt"

	"github.com/containernetworking/plugins/pkg/ns"
)

// inNetNS runs fn with its goroutine's OS thread in the network namespace
// at path (ns.Do locks the thread and restores it); "" runs fn where the
// caller is. Sockets fn opens stay in that namespace.
func inNetNS(path string, fn func() error) error {
	if path == "" {
		return fn()
	}
	n, err := ns.GetNS(path)
	if err != nil {
		return fmt.Errorf("open netns: %w", err)
	}
	defer n.Close()
	return n.Do(func(ns.NetNS) error { return fn() })
}
