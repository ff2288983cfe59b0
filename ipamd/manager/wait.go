package manager

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vpc-cni/vpc-cni/cloud"
)

// errDetachTimeout: an ENI was still attached or detaching when the wait
// ran out.
var errDetachTimeout = errors.New("ENI still detaching")

// errDeleteTimeout: EC2 kept refusing to delete a detached ENI (throttled,
// or still seeing it in use) until the wait ran out.
var errDeleteTimeout = errors.New("ENI not deleted in time")

// poll calls check with growing pauses (pollMin doubling up to pollMax)
// until it reports done or fails, ctx ends, or bound has passed on the
// manager's clock; then it returns timeout wrapped with check's last error.
func (m *Manager) poll(ctx context.Context, bound time.Duration, timeout error,
	check func(context.Context) (bool, error),
) error {
	deadline := m.now().Add(bound)
	pause := m.pollMin
	for {
		done, err := check(ctx)
		switch {
		case done && err == nil:
			return nil
		case done:
			return err
		}
		if !m.now().Before(deadline) {
			if err != nil {
				return fmt.Errorf("%w (last: %w)", timeout, err)
			}
			return timeout
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		pause = min(2*pause, m.pollMax)
	}
}

// waitMetadata waits, up to IMDSWait, until instance metadata shows the
// ENI with the given MAC and ok accepts what it shows, and returns that.
func (m *Manager) waitMetadata(ctx context.Context, mac string, ok func(cloud.ENIMetadata) bool) (cloud.ENIMetadata, error) {
	var got cloud.ENIMetadata
	err := m.poll(ctx, m.opts.IMDSWait, errMetadataTimeout, func(ctx context.Context) (bool, error) {
		md, err := m.md.ENI(ctx, mac)
		switch {
		case err != nil && ctx.Err() != nil:
			return true, err
		case err != nil:
			return false, err // not shown yet, or metadata hiccup: try again
		case !ok(md):
			return false, nil
		}
		got = md
		return true, nil
	})
	return got, err
}

// waitDetached waits, up to DetachWait, until the ENI has no attachment
// (a detach passes through "detaching") or no longer exists.
func (m *Manager) waitDetached(ctx context.Context, id string) error {
	return m.poll(ctx, m.opts.DetachWait, errDetachTimeout, func(ctx context.Context) (bool, error) {
		enis, err := m.ec2.ENIs(ctx, cloud.ENIFilter{IDs: []string{id}})
		switch {
		case errors.Is(err, cloud.ErrNotFound):
			return true, nil
		case err != nil && ctx.Err() != nil:
			return true, err
		case err != nil:
			return false, err
		}
		return len(enis) == 0 || enis[0].Attachment == nil, nil
	})
}
