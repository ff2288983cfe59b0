package manager

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vpc-cni/vpc-cni/cloud"
)

// Leaked-ENI cleanup schedule and threshold.
const (
	// LeakedENIMinAge is how old a detached ENI of ours must be before the
	// cleanup deletes it: younger ones may be on their way to being
	// attached.
	LeakedENIMinAge = 5 * time.Minute
	// cleanupFirstRun is the first run's delay after start (plus jitter
	// of up to as much again).
	cleanupFirstRun = 3 * time.Minute
	// cleanupInterval is the period (give or take a tenth, at random).
	cleanupInterval = time.Hour
)

// CleanupLeaked deletes ENIs that vpc-cni created (for this cluster, when
// ClusterName is set) in the instance's VPC, that are not attached
// (status available) and that are older than LeakedENIMinAge by their
// created-at tag. Each deletion is logged. It returns the ids deleted; an
// error joins the failures, the other deletions going ahead.
func (m *Manager) CleanupLeaked(ctx context.Context) ([]string, error) {
	f := cloud.ENIFilter{
		VPCID: m.opts.Instance.VPCID, Status: cloud.ENIAvailable, Tags: map[string]string{TagCreatedBy: CreatedByValue},
	}
	if m.opts.ClusterName != "" {
		f.Tags[TagClusterName] = m.opts.ClusterName
	}
	enis, err := m.ec2.ENIs(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("leaked ENI cleanup: list: %w", err)
	}
	now := m.now()
	var deleted []string
	var errs []error
	for _, e := range enis {
		if !leaked(e, now) {
			continue
		}
		err := m.ec2.DeleteENI(ctx, e.ID)
		switch {
		case errors.Is(err, cloud.ErrNotFound):
			continue // another node's cleanup was quicker
		case err != nil:
			errs = append(errs, fmt.Errorf("delete leaked %s: %w", e.ID, err))
			continue
		}
		deleted = append(deleted, e.ID)
		m.log.Info("deleted a leaked ENI", logKeyENI, e.ID, logKeyAge, now.Sub(created(e)).Round(time.Second).String())
	}
	return deleted, errors.Join(errs...)
}

// leaked reports whether e, listed by the cleanup's filter, is to be
// deleted: not attached, and with a created-at tag older than
// LeakedENIMinAge. An ENI without a readable created-at is spared.
func leaked(e cloud.ENI, now time.Time) bool {
	if e.Attachment != nil || e.Status != cloud.ENIAvailable || e.Tags[TagCreatedBy] != CreatedByValue {
		return false
	}
	at := created(e)
	return !at.IsZero() && now.Sub(at) > LeakedENIMinAge
}

// created is the ENI's created-at tag, zero when missing or unreadable.
func created(e cloud.ENI) time.Time {
	at, err := time.Parse(time.RFC3339, e.Tags[TagCreatedAt])
	if err != nil {
		return time.Time{}
	}
	return at
}

// cleanupLoop runs CleanupLeaked a few minutes after start, then hourly,
// each time with jitter, until ctx ends.
func (m *Manager) cleanupLoop(ctx context.Context) {
	wait := m.cleanupFirst + time.Duration(m.jitter()*float64(m.cleanupFirst))
	for {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if _, err := m.CleanupLeaked(ctx); err != nil && ctx.Err() == nil {
			m.log.Warn("leaked ENI cleanup failed", logKeyError, err.Error())
		}
		tenth := m.cleanupEvery / 10
		wait = m.cleanupEvery - tenth + time.Duration(m.jitter()*float64(2*tenth))
	}
}
