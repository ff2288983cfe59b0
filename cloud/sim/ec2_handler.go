package sim

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"
)

// ec2Call is one EC2 request on its way through an action.
type ec2Call struct {
	ctx   context.Context
	q     *query
	reqID string
}

// ec2Action is an action's parameters and its implementation, which
// returns the response body (a struct whose first field is the requestId).
type ec2Action struct {
	spec *actionSpec
	run  func(a *ec2API, c *ec2Call) (any, error)
}

// ec2API serves the EC2 Query API over a World, through the Knobs.
type ec2API struct {
	world  *World
	knobs  *Knobs
	view   xmlView
	pages  *pageTokens
	tokens *clientTokens
	log    *slog.Logger
}

// ec2Actions are the actions ec2sim answers.
var ec2Actions = map[string]*ec2Action{
	"DescribeInstances":               {specDescribeInstances, (*ec2API).describeInstances},
	"DescribeInstanceTypes":           {specDescribeInstanceTypes, (*ec2API).describeInstanceTypes},
	"DescribeSubnets":                 {specDescribeSubnets, (*ec2API).describeSubnets},
	"DescribeVpcs":                    {specDescribeVpcs, (*ec2API).describeVpcs},
	"DescribeNetworkInterfaces":       {specDescribeNetworkInterfaces, (*ec2API).describeNetworkInterfaces},
	"CreateNetworkInterface":          {specCreateNetworkInterface, (*ec2API).createNetworkInterface},
	"AttachNetworkInterface":          {specAttachNetworkInterface, (*ec2API).attachNetworkInterface},
	"DetachNetworkInterface":          {specDetachNetworkInterface, (*ec2API).detachNetworkInterface},
	"DeleteNetworkInterface":          {specDeleteNetworkInterface, (*ec2API).deleteNetworkInterface},
	"ModifyNetworkInterfaceAttribute": {specModifyNetworkInterfaceAttribute, (*ec2API).modifyNetworkInterfaceAttribute},
	"AssignPrivateIpAddresses":        {specAssignPrivateIPAddresses, (*ec2API).assignPrivateIPAddresses},
	"UnassignPrivateIpAddresses":      {specUnassignPrivateIPAddresses, (*ec2API).unassignPrivateIPAddresses},
	"CreateTags":                      {specCreateTags, (*ec2API).createTags},
	"DeleteTags":                      {specDeleteTags, (*ec2API).deleteTags},
}

// ec2Specs is the spec of each action, for the parser.
var ec2Specs = func() map[string]*actionSpec {
	m := make(map[string]*actionSpec, len(ec2Actions))
	for name, a := range ec2Actions {
		m[name] = a.spec
	}
	return m
}()

// ServeHTTP answers one EC2 Query API request.
func (a *ec2API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := newRequestID()
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		writeEC2Error(w, reqID, qErr(http.StatusMethodNotAllowed, "UnsupportedProtocol",
			"The EC2 API takes GET and POST requests."))
		return
	}
	vals, perr := readQuery(r)
	if perr != nil {
		writeEC2Error(w, reqID, perr)
		return
	}
	action, version, perr := actionOf(vals, ec2Specs)
	if perr != nil {
		writeEC2Error(w, reqID, perr)
		return
	}
	latency, inj := a.knobs.Admit(action)
	if !sleepCtx(r.Context(), latency) {
		dropConnection(w) // the caller is gone, or the server is closing
		return
	}
	if inj != nil {
		inject(w, reqID, inj)
		return
	}
	body, aerr := a.call(r.Context(), action, version, vals, reqID)
	a.knobs.Record(action, aerr)
	if aerr != nil {
		writeEC2Error(w, reqID, aerr)
		return
	}
	if inj := a.knobs.AfterAction(action); inj != nil {
		inject(w, reqID, inj) // the action's change stays made
		return
	}
	if err := writeEC2Response(w, action, reqID, body); err != nil {
		a.log.Error("ec2 response", logKeyAction, action, logKeyErr, err)
		writeEC2Error(w, reqID, internalError())
	}
}

// inject answers what a fault or the throttle injected.
func inject(w http.ResponseWriter, reqID string, inj *Injection) {
	if inj.Drop {
		dropConnection(w)
		return
	}
	writeEC2Error(w, reqID, inj.Err)
}

// call parses the parameters and runs the action.
func (a *ec2API) call(ctx context.Context, action, version string, vals map[string][]string, reqID string) (any, *APIError) {
	act := ec2Actions[action]
	q, perr := parseQuery(action, version, vals, act.spec)
	if perr != nil {
		return nil, perr
	}
	if q.bool("DryRun") {
		return nil, qErr(http.StatusPreconditionFailed, "DryRunOperation",
			"Request would have succeeded, but DryRun flag is set.")
	}
	body, err := act.run(a, &ec2Call{ctx: ctx, q: q, reqID: reqID})
	if err != nil {
		return nil, a.toAPIError(action, err)
	}
	return body, nil
}

// toAPIError returns the EC2 error to answer for an action's error: an
// *APIError as it is, anything else as an InternalError (and logged).
func (a *ec2API) toAPIError(action string, err error) *APIError {
	var ae *APIError
	if errors.As(err, &ae) && ae != nil && ae.Code != "" {
		if ae.Status == 0 {
			c := *ae
			c.Status = http.StatusBadRequest
			return &c
		}
		return ae
	}
	a.log.Error("ec2 action failed", logKeyAction, action, logKeyErr, err)
	return internalError()
}

func internalError() *APIError {
	return qErr(http.StatusInternalServerError, "InternalError",
		"An internal error has occurred.")
}

// dropConnection closes the client's connection without an answer, as a
// network failure would: the client sees a transport error, not an HTTP
// status. A writer that cannot be taken over (a test recorder) is left
// without an answer.
func dropConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	_ = conn.Close()
}

// sleepCtx waits d, or until ctx is done; it reports whether it waited d.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// newSpec builds an action's spec from parameter groups.
func newSpec(required []string, groups ...map[string]qType) *actionSpec {
	s := &actionSpec{params: map[string]qType{}, required: required}
	for _, g := range groups {
		for k, v := range g {
			s.params[k] = v
		}
	}
	return s
}

// Parameter groups shared by several actions.
var (
	pDryRun  = map[string]qType{"DryRun": qBool}
	pFilters = map[string]qType{"Filter.N.Name": qString, "Filter.N.Value.N": qString}
	pPaging  = map[string]qType{"MaxResults": qInt, "NextToken": qString}
)
