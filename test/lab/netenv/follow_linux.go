package netenv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"time"

	"github.com/vpc-cni/vpc-cni/cloud/sim"
)

// Log keys of the follower.
const (
	logKeyAction = "action"
	logKeyError  = "error"
	logKeyPrefix = "prefix"
	logKeyURL    = "url"
)

// PollInterval is how often Follow reads ec2sim's state.
var PollInterval = 100 * time.Millisecond

// Reconcile makes one pass: it turns ec2sim's state into the desired fabric
// for the nodes, reads what the namespaces hold and applies the difference.
// A node whose namespace is missing is skipped and reported (ErrNoNamespace,
// joined with any other error); the other nodes are still reconciled.
func Reconcile(ctx context.Context, prefix string, st sim.State, nodes []NodeSpec) error {
	_, err := reconcile(ctx, prefix, st, nodes)
	return err
}

// reconcile is Reconcile, returning the actions it carried out.
func reconcile(ctx context.Context, prefix string, st sim.State, nodes []NodeSpec) ([]Action, error) {
	if err := ValidatePrefix(prefix); err != nil {
		return nil, err
	}
	if err := validateNodes(nodes); err != nil {
		return nil, err
	}
	e, err := openEnv(prefix, nodes)
	if err != nil {
		return nil, err
	}
	defer e.close()
	desired, derr := DesiredFrom(st, nodes)
	desired.ENIs = slices.DeleteFunc(desired.ENIs, func(d DesiredENI) bool { return e.nodes[d.Node] == nil })
	actual, err := e.gather()
	if err != nil {
		return nil, errors.Join(derr, e.missing, err)
	}
	done, err := e.apply(ctx, Plan(desired, actual))
	return done, errors.Join(derr, e.missing, err)
}

// Follow reconciles the fabric with ec2sim's state, read from stateURL
// (GET, a sim.State: ec2sim's /sim/state), every PollInterval until ctx
// ends, and then returns nil. Errors do not stop it: each is logged when it
// first appears (and its end when it goes away); every action done is
// logged. Only a bad prefix or node list is returned at once.
func Follow(ctx context.Context, prefix, stateURL string, nodes []NodeSpec, log *slog.Logger) error {
	if err := ValidatePrefix(prefix); err != nil {
		return err
	}
	if err := validateNodes(nodes); err != nil {
		return err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With(logKeyPrefix, prefix, logKeyURL, stateURL)
	// No proxy from the environment: the state URL is the fabric's own.
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil}}
	defer client.CloseIdleConnections()
	t := time.NewTicker(PollInterval)
	defer t.Stop()
	last := ""
	for {
		err := followOnce(ctx, client, prefix, stateURL, nodes, log)
		last = logChange(log, last, err)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// followOnce reads the state and reconciles once.
func followOnce(ctx context.Context, c *http.Client, prefix, url string, nodes []NodeSpec, log *slog.Logger) error {
	st, err := FetchState(ctx, c, url)
	if err != nil {
		return err
	}
	done, err := reconcile(ctx, prefix, st, nodes)
	for _, a := range done {
		log.Info("fabric changed", logKeyAction, a.String())
	}
	return err
}

// logChange logs err when its text differs from the last one logged, and
// the recovery when err is nil after an error; it returns the new last.
func logChange(log *slog.Logger, last string, err error) string {
	switch {
	case err == nil && last != "":
		log.Info("fabric in step again")
		return ""
	case err == nil || errors.Is(err, context.Canceled):
		return last
	case err.Error() != last:
		log.Warn("fabric follower", logKeyError, err.Error())
	}
	return err.Error()
}

// FetchState GETs a sim.State from url (ec2sim's /sim/state).
func FetchState(ctx context.Context, c *http.Client, url string) (sim.State, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return sim.State{}, fmt.Errorf("ec2sim state: %w", err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return sim.State{}, fmt.Errorf("ec2sim state: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
		return sim.State{}, fmt.Errorf("ec2sim state: %s: %s", resp.Status, b)
	}
	var st sim.State
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return sim.State{}, fmt.Errorf("ec2sim state: decode: %w", err)
	}
	return st, nil
}

// RunFabricd is what `bin/lab fabricd` runs inside P-fabric: Follow.
func RunFabricd(ctx context.Context, prefix, stateURL string, nodes []NodeSpec, log *slog.Logger) error {
	return Follow(ctx, prefix, stateURL, nodes, log)
}

// NodeReady reports whether node n's primary ENI is in place: eth0 up in
// P-node<i> with the node's primary address and a default route.
func NodeReady(prefix string, n NodeSpec) (bool, error) {
	h, err := openNS(NodeNS(prefix, n.Index))
	if err != nil {
		return false, err
	}
	defer h.Close()
	a := map[Key]*ActualENI{}
	err = gatherNode(h, n.Index, func(k Key) *ActualENI {
		if a[k] == nil {
			a[k] = &ActualENI{Key: k}
		}
		return a[k]
	})
	if err != nil {
		return false, err
	}
	e0 := a[Key{Node: n.Index}]
	if e0 == nil || !e0.NodeUp || !e0.NodeGateway.IsValid() {
		return false, nil
	}
	return !n.PrimaryIP.IsValid() || slices.ContainsFunc(e0.NodeAddrs, func(p netip.Prefix) bool {
		return p.Addr() == n.PrimaryIP
	}), nil
}

// WaitNode waits until NodeReady, polling, until ctx ends.
func WaitNode(ctx context.Context, prefix string, n NodeSpec) error {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		ok, err := NodeReady(prefix, n)
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			if err != nil {
				return fmt.Errorf("wait for node %d's eth0: %w (last: %v)", n.Index, ctx.Err(), err)
			}
			return fmt.Errorf("wait for node %d's eth0: %w (is the fabric follower running?)", n.Index, ctx.Err())
		case <-t.C:
		}
	}
}
