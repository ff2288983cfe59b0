package fake

import (
	"context"
	"fmt"
	"time"

	"github.com/vpc-cni/vpc-cni/cloud"
)

// Op names one operation of the fake, for fault and latency injection and
// call counting: one per method of cloud.ENIAPI and cloud.Metadata.
type Op string

// Operations of cloud.ENIAPI.
const (
	OpInstanceType           Op = "InstanceType"
	OpSubnets                Op = "Subnets"
	OpInstanceENIs           Op = "InstanceENIs"
	OpENIs                   Op = "ENIs"
	OpCreateENI              Op = "CreateENI"
	OpAttachENI              Op = "AttachENI"
	OpDetachENI              Op = "DetachENI"
	OpDeleteENI              Op = "DeleteENI"
	OpSetDeleteOnTermination Op = "SetDeleteOnTermination"
	OpAssignIPs              Op = "AssignIPs"
	OpAssignPrefixes         Op = "AssignPrefixes"
	OpUnassignIPs            Op = "UnassignIPs"
	OpUnassignPrefixes       Op = "UnassignPrefixes"
	OpTagENI                 Op = "TagENI"
)

// Operations of cloud.Metadata.
const (
	OpMetadataInstance Op = "Metadata.Instance"
	OpMetadataENIs     Op = "Metadata.ENIs"
	OpMetadataENI      Op = "Metadata.ENI"
)

// Ops lists every operation.
var Ops = []Op{
	OpInstanceType, OpSubnets, OpInstanceENIs, OpENIs, OpCreateENI, OpAttachENI, OpDetachENI,
	OpDeleteENI, OpSetDeleteOnTermination, OpAssignIPs, OpAssignPrefixes, OpUnassignIPs,
	OpUnassignPrefixes, OpTagENI, OpMetadataInstance, OpMetadataENIs, OpMetadataENI,
}

// actions maps each operation onto the EC2 API action it stands for; the
// metadata operations are reads of IMDS.
var actions = map[Op]string{
	OpInstanceType:           "DescribeInstanceTypes",
	OpSubnets:                "DescribeSubnets",
	OpInstanceENIs:           "DescribeNetworkInterfaces",
	OpENIs:                   "DescribeNetworkInterfaces",
	OpCreateENI:              "CreateNetworkInterface",
	OpAttachENI:              "AttachNetworkInterface",
	OpDetachENI:              "DetachNetworkInterface",
	OpDeleteENI:              "DeleteNetworkInterface",
	OpSetDeleteOnTermination: "ModifyNetworkInterfaceAttribute",
	OpAssignIPs:              "AssignPrivateIpAddresses",
	OpAssignPrefixes:         "AssignPrivateIpAddresses",
	OpUnassignIPs:            "UnassignPrivateIpAddresses",
	OpUnassignPrefixes:       "UnassignPrivateIpAddresses",
	OpTagENI:                 "CreateTags",
	OpMetadataInstance:       "GetMetadata",
	OpMetadataENIs:           "GetMetadata",
	OpMetadataENI:            "GetMetadata",
}

// Action returns the EC2 API action an operation stands for.
func (op Op) Action() string {
	if a, ok := actions[op]; ok {
		return a
	}
	return string(op)
}

// InjectedError builds the error EC2 would return for op with the given
// error code (e.g. RequestLimitExceeded), for SetFault.
func InjectedError(op Op, code string) *cloud.APIError {
	return cloud.NewAPIError(op.Action(), code, "injected by the fake", "fake-injected")
}

// fault is an injected failure: err for the next times calls, or for every
// call while times is 0.
type fault struct {
	err   error
	times int
}

// SetFault makes op fail with err: for its next times calls, or for every
// call until cleared when times is 0. A nil err clears op's fault.
func (c *Cloud) SetFault(op Op, err error, times int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err == nil || times < 0 {
		delete(c.faults, op)
		return
	}
	c.faults[op] = &fault{err: err, times: times}
}

// SetFaultAfter makes op take effect and then fail with err, as a call
// whose answer is lost does (a timeout or a cancelled call after EC2
// applied it, a 5xx after the change): for its next times calls, or for
// every call until cleared when times is 0. The failed call returns zero
// values besides err (the caller never learns the new ENI's id or the
// attachment's). A call that fails before taking effect (a bad argument, a
// SetFault fault, EC2's own refusal) does not use one up. A nil err clears
// op's fault. err is returned as given: to model what cloud/aws returns
// when an attempt lost its answer and a retry was refused (throttled, or
// finding the change made), wrap cloud.ErrOutcomeUnknown into it.
func (c *Cloud) SetFaultAfter(op Op, err error, times int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err == nil || times < 0 {
		delete(c.after, op)
		return
	}
	c.after[op] = &fault{err: err, times: times}
}

// SetLatency makes every call of op wait d before it runs (0 removes the
// latency). A call whose context ends while it waits returns the context's
// error and has no effect.
func (c *Cloud) SetLatency(op Op, d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d <= 0 {
		delete(c.latency, op)
		return
	}
	c.latency[op] = d
}

// ClearFaults removes every injected fault (SetFault and SetFaultAfter)
// and latency.
func (c *Cloud) ClearFaults() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.faults)
	clear(c.after)
	clear(c.latency)
}

// Calls returns how many times op was called, failed calls included.
func (c *Cloud) Calls(op Op) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[op]
}

// begin starts one call of op: it counts the call, returns argErr (an
// argument the real client would reject before calling EC2) if there is
// one, waits the injected latency outside the lock, and returns the
// injected fault if one is due.
func (c *Cloud) begin(ctx context.Context, op Op, argErr error) error {
	c.mu.Lock()
	c.calls[op]++
	d := c.latency[op]
	c.mu.Unlock()
	if argErr != nil {
		return argErr
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("fake %s: %w", op.Action(), err)
	}
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return fmt.Errorf("fake %s: %w", op.Action(), ctx.Err())
		case <-t.C:
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return takeFault(c.faults, op)
}

// takeFault returns op's fault in faults, if any, using one up.
func takeFault(faults map[Op]*fault, op Op) error {
	f, ok := faults[op]
	if !ok {
		return nil
	}
	if f.times > 0 {
		f.times--
		if f.times == 0 {
			delete(faults, op)
		}
	}
	return f.err
}

// lostLocked is called when a call of op has taken effect: it returns the
// SetFaultAfter error due, if any, using one up.
func (c *Cloud) lostLocked(op Op) error { return takeFault(c.after, op) }

// lost is lostLocked for a caller that does not hold the lock.
func (c *Cloud) lost(op Op) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lostLocked(op)
}

// apiError builds the EC2 error of op with a fresh request id.
func (c *Cloud) apiError(op Op, code, format string, args ...any) *cloud.APIError {
	c.requests++
	return cloud.NewAPIError(op.Action(), code, fmt.Sprintf(format, args...), fmt.Sprintf("fake-%08d", c.requests))
}
