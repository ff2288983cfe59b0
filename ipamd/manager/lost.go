package manager

import (
	"context"
	"errors"
	"time"

	"github.com/vpc-cni/vpc-cni/cloud"
)

// createLookupWait bounds the search for the ENI a create whose answer was
// lost may have made: DescribeNetworkInterfaces may take a moment to list
// a new ENI.
const createLookupWait = 5 * time.Second

// errNotListed: no ENI carries the create token (yet).
var errNotListed = errors.New("no ENI with the create token is listed")

// serverFaults are EC2 error codes of a failure on EC2's side (a 5xx),
// after which a change may have been made.
var serverFaults = map[string]bool{
	"InternalError": true, "InternalFailure": true, "ServiceUnavailable": true, "Unavailable": true,
}

// mayHaveApplied reports whether a failed EC2 call that changes something
// (a create, an attach, a detach) may have taken effect all the same: the
// error says so (cloud.ErrOutcomeUnknown: an attempt of the call lost its
// answer, whatever the last one said), its answer was lost (the context
// ended, the connection failed) or EC2 failed on its side (a 5xx). EC2's
// refusals with a code of their own (throttled, a limit reached, a bad
// argument) and the client's refusals before calling changed nothing.
func mayHaveApplied(err error) bool {
	if errors.Is(err, cloud.ErrOutcomeUnknown) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var api *cloud.APIError
	if errors.As(err, &api) {
		return serverFaults[api.Code]
	}
	for _, kind := range []error{
		cloud.ErrThrottled, cloud.ErrSubnetExhausted, cloud.ErrENILimit, cloud.ErrAddressLimit, cloud.ErrNotFound,
		cloud.ErrPrefixFragmented, cloud.ErrInUse, cloud.ErrInvalidParameter,
	} {
		if errors.Is(err, kind) {
			return false
		}
	}
	return true // a transport failure
}

// reapLostCreate deletes the ENI that a create whose answer was lost may
// have made, found by its create token. What it cannot find or delete it
// logs for the leaked-ENI cleanup, which deletes our detached ENIs.
func (m *Manager) reapLostCreate(ctx context.Context, token string) {
	if token == "" {
		m.log.Warn("a create's answer was lost and the ENI had no room for a create token; " +
			"if EC2 made it, the leaked-ENI cleanup deletes it")
		return
	}
	f := cloud.ENIFilter{VPCID: m.opts.Instance.VPCID, Tags: map[string]string{TagCreateToken: token}}
	var found []cloud.ENI
	err := m.poll(ctx, createLookupWait, errNotListed, func(ctx context.Context) (bool, error) {
		enis, err := m.ec2.ENIs(ctx, f)
		switch {
		case err != nil && ctx.Err() != nil:
			return true, err
		case err != nil:
			return false, err
		}
		found = enis
		return len(found) > 0, nil
	})
	if err != nil {
		m.log.Warn("a create's answer was lost and no ENI of it is listed; if EC2 made one, "+
			"the leaked-ENI cleanup deletes it", logKeyToken, token, logKeyError, err.Error())
		return
	}
	for _, e := range found {
		if e.Attachment != nil {
			continue // attached since: no orphan
		}
		if err := m.deleteDetached(ctx, e.ID, false); err == nil {
			m.log.Info("deleted the ENI of a create whose answer was lost", logKeyENI, e.ID, logKeyToken, token)
		}
	}
}

// attachmentOf returns the ENI's attachment as EC2 lists it now: nil when
// it is not attached (or no longer exists).
func (m *Manager) attachmentOf(ctx context.Context, id string) (*cloud.Attachment, error) {
	enis, err := m.ec2.ENIs(ctx, cloud.ENIFilter{IDs: []string{id}})
	switch {
	case errors.Is(err, cloud.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, err
	case len(enis) == 0:
		return nil, nil
	}
	return enis[0].Attachment, nil
}

// lostAttach finds out what an attach whose answer may have been lost did:
// the attachment's id when it took effect, "" when it did not. When EC2
// cannot tell, it returns "" too: the undo's delete then finds the ENI in
// use if it is attached, and leaves it for Sync to adopt.
func (m *Manager) lostAttach(ctx context.Context, id string, attachErr error) string {
	att, err := m.attachmentOf(ctx, id)
	switch {
	case err != nil:
		m.log.Warn("an attach's answer was lost and the ENI cannot be looked up", logKeyENI, id,
			logKeyError, errors.Join(attachErr, err).Error())
		return ""
	case att == nil || att.InstanceID != m.opts.Instance.ID:
		return ""
	}
	m.log.Info("an attach's answer was lost, but it took effect", logKeyENI, id, logKeyDevice, att.DeviceIndex,
		logKeyError, attachErr.Error())
	return att.ID
}

// detachTookEffect reports whether EC2 shows that a detach whose answer
// may have been lost took effect: the ENI is detaching, detached or gone.
// False says nothing: EC2 could not be asked, or its listing, which lags,
// still shows the ENI attached.
func (m *Manager) detachTookEffect(ctx context.Context, id string) bool {
	att, err := m.attachmentOf(ctx, id)
	return err == nil && (att == nil || att.State == cloud.Detaching || att.State == cloud.Detached)
}
