// Package simtest starts ec2sim for tests: an in-process server on
// loopback ephemeral ports, closed when the test ends.
package simtest

import (
	"testing"

	"github.com/vpc-cni/vpc-cni/cloud/sim"
)

// Start starts an ec2sim server for the test. A nil cfg is the default
// world with throttling off and no delays, so tests run at full speed; the
// server is closed by t.Cleanup.
func Start(t testing.TB, cfg *sim.Config) *sim.Server {
	t.Helper()
	c := Config()
	if cfg != nil {
		c = *cfg
	}
	srv, err := sim.New(c)
	if err != nil {
		t.Fatalf("simtest: build world: %v", err)
	}
	if err := srv.Start("127.0.0.1:0", "127.0.0.1:0"); err != nil {
		t.Fatalf("simtest: start: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("simtest: close: %v", err)
		}
	})
	return srv
}

// Config is the default world with throttling off and zero delays: what
// Start uses for a nil config, and a base for tests to adjust.
func Config() sim.Config {
	c := sim.DefaultConfig()
	c.Throttle = sim.ThrottleConfig{}
	c.Delays = sim.DelaysConfig{}
	return c
}
