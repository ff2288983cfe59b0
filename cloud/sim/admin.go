package sim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// The admin API, under /sim/ on the EC2 listener: JSON in and out, for
// tests and the lab to read the ground truth, change the realism controls
// and shape the world while it runs.

// adminAPI routes /sim/ requests.
type adminAPI struct {
	s      *Server
	routes map[string]map[string]func(*http.Request) (int, any, error)
}

// adminError is the JSON error body.
type adminError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// adminOK is the body of a request that only succeeded.
var adminOK = map[string]string{"status": "ok"}

func newAdminAPI(s *Server) *adminAPI {
	a := &adminAPI{s: s}
	a.routes = map[string]map[string]func(*http.Request) (int, any, error){
		"/sim/healthz":     {http.MethodGet: a.healthz},
		"/sim/state":       {http.MethodGet: a.state},
		"/sim/stats":       {http.MethodGet: a.stats},
		"/sim/stats/reset": {http.MethodPost: a.resetStats},
		"/sim/faults":      {http.MethodGet: a.getFaults, http.MethodPost: a.addFaults, http.MethodDelete: a.clearFaults},
		"/sim/latency":     {http.MethodGet: a.getLatency, http.MethodPut: a.setLatency},
		"/sim/throttle":    {http.MethodGet: a.getThrottle, http.MethodPut: a.setThrottle},
		"/sim/delays":      {http.MethodGet: a.getDelays, http.MethodPut: a.setDelays},
		"/sim/vpcs":        {http.MethodPost: a.createVPC},
		"/sim/subnets":     {http.MethodPost: a.createSubnet},
		"/sim/instances":   {http.MethodPost: a.launchInstance},
	}
	return a
}

// ServeHTTP dispatches by path and method.
func (a *adminAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	methods, ok := a.routes[r.URL.Path]
	if id, isInst := strings.CutPrefix(r.URL.Path, "/sim/instances/"); isInst && id != "" && !strings.Contains(id, "/") {
		methods, ok = map[string]func(*http.Request) (int, any, error){
			http.MethodDelete: func(*http.Request) (int, any, error) { return a.terminate(id) },
		}, true
	}
	if !ok {
		adminFail(w, http.StatusNotFound, "NotFound", "no such admin endpoint: "+r.URL.Path)
		return
	}
	h, ok := methods[r.Method]
	if !ok {
		adminFail(w, http.StatusMethodNotAllowed, "MethodNotAllowed", r.Method+" is not allowed on "+r.URL.Path)
		return
	}
	status, body, err := h(r)
	if err != nil {
		var ae *APIError
		if errors.As(err, &ae) && ae != nil {
			adminFail(w, cmpStatus(ae.Status), ae.Code, ae.Message)
			return
		}
		adminFail(w, http.StatusInternalServerError, "InternalError", err.Error())
		return
	}
	adminJSON(w, status, body)
}

func cmpStatus(s int) int {
	if s < 400 || s > 599 {
		return http.StatusBadRequest
	}
	return s
}

func adminJSON(w http.ResponseWriter, status int, body any) {
	b, err := json.MarshalIndent(body, "", "  ")
	if err != nil {
		adminFail(w, http.StatusInternalServerError, "InternalError", err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

func adminFail(w http.ResponseWriter, status int, code, msg string) {
	var e adminError
	e.Error.Code, e.Error.Message = code, msg
	b, _ := json.Marshal(e)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// decodeJSON reads a request body strictly into v.
func decodeJSON(r *http.Request, v any) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxQueryBody+1))
	if err != nil {
		return badRequest("read body: %v", err)
	}
	if len(b) > maxQueryBody {
		return badRequest("body too large")
	}
	if err := strictUnmarshal(b, v); err != nil {
		return err
	}
	return nil
}

func (a *adminAPI) healthz(*http.Request) (int, any, error) { return http.StatusOK, adminOK, nil }

func (a *adminAPI) state(*http.Request) (int, any, error) {
	return http.StatusOK, a.s.world.Snapshot(), nil
}

func (a *adminAPI) stats(*http.Request) (int, any, error) {
	return http.StatusOK, a.s.knobs.Stats(), nil
}

func (a *adminAPI) resetStats(*http.Request) (int, any, error) {
	a.s.knobs.ResetStats()
	return http.StatusOK, adminOK, nil
}

// addFaults takes one fault or a list of them.
func (a *adminAPI) addFaults(r *http.Request) (int, any, error) {
	var raw json.RawMessage
	if err := decodeJSON(r, &raw); err != nil {
		return 0, nil, err
	}
	var faults []Fault
	if trimmed := bytes.TrimSpace(raw); len(trimmed) > 0 && trimmed[0] == '[' {
		if err := strictUnmarshal(raw, &faults); err != nil {
			return 0, nil, err
		}
	} else {
		var f Fault
		if err := strictUnmarshal(raw, &f); err != nil {
			return 0, nil, err
		}
		faults = []Fault{f}
	}
	if err := validateFaults(faults); err != nil {
		return 0, nil, badRequest("%v", err)
	}
	for _, f := range faults {
		a.s.knobs.AddFault(f)
	}
	return http.StatusOK, adminOK, nil
}

func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("decode body: %v", err)
	}
	if dec.More() {
		return badRequest("decode body: trailing data after the JSON value")
	}
	return nil
}

// badRequest is an admin request the API cannot take.
func badRequest(format string, a ...any) error {
	return &APIError{Code: "InvalidRequest", Message: fmt.Sprintf(format, a...), Status: http.StatusBadRequest}
}

func (a *adminAPI) getFaults(*http.Request) (int, any, error) {
	faults := a.s.knobs.Faults()
	if faults == nil {
		faults = []Fault{}
	}
	return http.StatusOK, faults, nil
}

// getLatency answers each action's latency as a duration string.
func (a *adminAPI) getLatency(*http.Request) (int, any, error) {
	out := map[string]Duration{}
	for action, d := range a.s.knobs.Latency() {
		out[action] = Duration(d)
	}
	return http.StatusOK, out, nil
}

func (a *adminAPI) clearFaults(*http.Request) (int, any, error) {
	a.s.knobs.ClearFaults()
	return http.StatusOK, adminOK, nil
}

func (a *adminAPI) setLatency(r *http.Request) (int, any, error) {
	var in struct {
		Action  string   `json:"action"`
		Latency Duration `json:"latency"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return 0, nil, err
	}
	if in.Action == "" {
		return 0, nil, badRequest("action: required (an action name or \"*\")")
	}
	a.s.knobs.SetLatency(in.Action, time.Duration(in.Latency))
	return http.StatusOK, adminOK, nil
}

func (a *adminAPI) getThrottle(*http.Request) (int, any, error) {
	return http.StatusOK, a.s.knobs.Throttle(), nil
}

func (a *adminAPI) setThrottle(r *http.Request) (int, any, error) {
	var c ThrottleConfig
	if err := decodeJSON(r, &c); err != nil {
		return 0, nil, err
	}
	a.s.knobs.SetThrottle(c)
	return http.StatusOK, a.s.knobs.Throttle(), nil
}

func (a *adminAPI) getDelays(*http.Request) (int, any, error) {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	return http.StatusOK, a.s.delays, nil
}

// setDelays changes the delays it is given and keeps the others.
func (a *adminAPI) setDelays(r *http.Request) (int, any, error) {
	var in struct {
		Attach  *Duration `json:"attach"`
		Detach  *Duration `json:"detach"`
		IMDSLag *Duration `json:"imdsLag"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return 0, nil, err
	}
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	d := a.s.delays
	for _, p := range []struct{ from, to *Duration }{{in.Attach, &d.Attach}, {in.Detach, &d.Detach}, {in.IMDSLag, &d.IMDSLag}} {
		if p.from != nil {
			*p.to = *p.from
		}
	}
	a.s.world.SetDelays(time.Duration(d.Attach), time.Duration(d.Detach), time.Duration(d.IMDSLag))
	a.s.delays = d
	return http.StatusOK, d, nil
}

func (a *adminAPI) createVPC(r *http.Request) (int, any, error) {
	var in struct {
		CIDR string            `json:"cidr"`
		Tags map[string]string `json:"tags"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return 0, nil, err
	}
	cidr, err := netip.ParsePrefix(in.CIDR)
	if err != nil {
		return 0, nil, badRequest("cidr: %q is not a CIDR block", in.CIDR)
	}
	vpc, err := a.s.world.CreateVPC(cidr, tagList(in.Tags))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, vpc, nil
}

func (a *adminAPI) createSubnet(r *http.Request) (int, any, error) {
	var in struct {
		VPCID string            `json:"vpcId"`
		AZ    string            `json:"availabilityZone"`
		CIDR  string            `json:"cidr"`
		Tags  map[string]string `json:"tags"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return 0, nil, err
	}
	cidr, err := netip.ParsePrefix(in.CIDR)
	if err != nil {
		return 0, nil, badRequest("cidr: %q is not a CIDR block", in.CIDR)
	}
	if in.AZ == "" {
		in.AZ = a.s.world.Region() + "a"
	}
	sub, err := a.s.world.CreateSubnet(in.VPCID, in.AZ, cidr, tagList(in.Tags))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, sub, nil
}

func (a *adminAPI) launchInstance(r *http.Request) (int, any, error) {
	var in struct {
		Type      string `json:"type"`
		SubnetID  string `json:"subnetId"`
		PrimaryIP string `json:"primaryIp"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return 0, nil, err
	}
	var ip netip.Addr
	if in.PrimaryIP != "" {
		var err error
		if ip, err = netip.ParseAddr(in.PrimaryIP); err != nil {
			return 0, nil, badRequest("primaryIp: %q is not an address", in.PrimaryIP)
		}
	}
	inst, err := a.s.world.LaunchInstance(in.Type, in.SubnetID, ip)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, inst, nil
}

func (a *adminAPI) terminate(id string) (int, any, error) {
	if err := a.s.world.TerminateInstance(id); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, adminOK, nil
}
