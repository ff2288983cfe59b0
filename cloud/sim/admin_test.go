package sim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// wireAdmin sends a JSON request to the admin API and decodes the answer.
func wireAdmin(t *testing.T, h http.Handler, method, path, body string, wantStatus int, out any) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != wantStatus {
		t.Fatalf("%s %s: %d, want %d\n%s", method, path, rec.Code, wantStatus, rec.Body.String())
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s %s: content type %q", method, path, ct)
	}
	if out != nil {
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			t.Fatalf("%s %s: decode: %v\n%s", method, path, err, rec.Body.String())
		}
	}
}

func TestAdminWorldEndpoints(t *testing.T) {
	s := wireServer(t, wireConfig(nil))
	h := s.EC2Handler()
	wireAdmin(t, h, http.MethodGet, "/sim/healthz", "", 200, nil)

	var vpc VPC
	wireAdmin(t, h, http.MethodPost, "/sim/vpcs", `{"cidr":"10.1.0.0/16","tags":{"Name":"two"}}`, 201, &vpc)
	var sub Subnet
	wireAdmin(t, h, http.MethodPost, "/sim/subnets", `{"vpcId":"`+vpc.ID+`","cidr":"10.1.0.0/24"}`, 201, &sub)
	if sub.VPCID != vpc.ID || sub.AZ != "us-west-2a" {
		t.Fatalf("subnet: %+v", sub)
	}
	var inst Instance
	wireAdmin(t, h, http.MethodPost, "/sim/instances", `{"type":"c5.4xlarge","subnetId":"`+sub.ID+`","primaryIp":"10.1.0.50"}`, 201, &inst)
	if inst.Type != "c5.4xlarge" || inst.PrimaryIP.String() != "10.1.0.50" || inst.State != "running" {
		t.Fatalf("instance: %+v", inst)
	}
	var st State
	wireAdmin(t, h, http.MethodGet, "/sim/state", "", 200, &st)
	if len(st.VPCs) != 2 || len(st.Subnets) != 2 || len(st.Instances) != 2 || len(st.ENIs) != 2 {
		t.Fatalf("state: %d vpcs %d subnets %d instances %d enis", len(st.VPCs), len(st.Subnets), len(st.Instances), len(st.ENIs))
	}
	wireAdmin(t, h, http.MethodDelete, "/sim/instances/"+inst.ID, "", 200, nil)
	wireAdmin(t, h, http.MethodDelete, "/sim/instances/i-0000000000000000a", "", 400, nil)

	var e adminError
	wireAdmin(t, h, http.MethodPost, "/sim/subnets", `{"vpcId":"`+vpc.ID+`","cidr":"10.9.0.0/24"}`, 400, &e)
	if e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("error body: %+v", e)
	}
	wireAdmin(t, h, http.MethodPost, "/sim/vpcs", `{"cidr":"nope"}`, 400, nil)
	wireAdmin(t, h, http.MethodPost, "/sim/vpcs", `{"cidr":"10.2.0.0/16","bogus":1}`, 400, nil)
	wireAdmin(t, h, http.MethodPost, "/sim/vpcs", `not json`, 400, nil)
	wireAdmin(t, h, http.MethodGet, "/sim/vpcs", "", 405, nil)
	wireAdmin(t, h, http.MethodGet, "/sim/nonesuch", "", 404, nil)
}

func TestAdminKnobEndpoints(t *testing.T) {
	s := wireServer(t, wireConfig(nil))
	h := s.EC2Handler()

	wireAdmin(t, h, http.MethodPost, "/sim/faults", `{"action":"DescribeVpcs","code":"InternalError","probability":1,"count":1}`, 200, nil)
	wireAdmin(t, h, http.MethodPost, "/sim/faults", `[{"action":"*","code":"Unavailable","probability":0},
		{"action":"CreateNetworkInterface","after":true,"drop":true,"probability":0}]`, 200, nil)
	var faults []Fault
	wireAdmin(t, h, http.MethodGet, "/sim/faults", "", 200, &faults)
	if len(faults) != 3 || !faults[2].After || !faults[2].Drop || faults[2].Code != "" {
		t.Fatalf("faults: %+v", faults)
	}
	wireAdmin(t, h, http.MethodPost, "/sim/faults", `{"action":"X","probability":1}`, 400, nil)
	wireFail(t, h, 500, "InternalError", "DescribeVpcs")
	wireAdmin(t, h, http.MethodPost, "/sim/faults", `{"action":"X","code":"Y","probability":2}`, 400, nil)
	wireAdmin(t, h, http.MethodDelete, "/sim/faults", "", 200, nil)
	var cleared []Fault
	wireAdmin(t, h, http.MethodGet, "/sim/faults", "", 200, &cleared)
	if len(cleared) != 0 {
		t.Fatalf("faults after clear: %+v", cleared)
	}

	var stats Stats
	wireAdmin(t, h, http.MethodGet, "/sim/stats", "", 200, &stats)
	if stats.Calls["DescribeVpcs"] != 1 || stats.Errors["DescribeVpcs"]["InternalError"] != 1 {
		t.Fatalf("stats: %+v", stats)
	}
	wireAdmin(t, h, http.MethodPost, "/sim/stats/reset", "", 200, nil)
	var reset Stats
	wireAdmin(t, h, http.MethodGet, "/sim/stats", "", 200, &reset)
	if len(reset.Calls) != 0 {
		t.Fatalf("stats after reset: %+v", reset)
	}

	wireAdmin(t, h, http.MethodPut, "/sim/latency", `{"action":"DescribeVpcs","latency":"250ms"}`, 200, nil)
	if got := s.Knobs().Latency()["DescribeVpcs"]; got != 250*time.Millisecond {
		t.Fatalf("latency: %v", got)
	}
	wireAdmin(t, h, http.MethodPut, "/sim/latency", `{"action":"DescribeVpcs","latency":"soon"}`, 400, nil)
	wireAdmin(t, h, http.MethodPut, "/sim/latency", `{"latency":"1s"}`, 400, nil)

	var th ThrottleConfig
	wireAdmin(t, h, http.MethodPut, "/sim/throttle", `{"enabled":true,"mutating":{"size":3,"refillPerSecond":1}}`, 200, nil)
	wireAdmin(t, h, http.MethodGet, "/sim/throttle", "", 200, &th)
	if !th.Enabled || th.Mutating.Size != 3 {
		t.Fatalf("throttle: %+v", th)
	}

	var d DelaysConfig
	wireAdmin(t, h, http.MethodPut, "/sim/delays", `{"attach":"2s"}`, 200, &d)
	wireAdmin(t, h, http.MethodPut, "/sim/delays", `{"imdsLag":"3s"}`, 200, &d)
	if time.Duration(d.Attach) != 2*time.Second || time.Duration(d.IMDSLag) != 3*time.Second || d.Detach != 0 {
		t.Fatalf("delays: %+v", d)
	}
	wireAdmin(t, h, http.MethodPut, "/sim/delays", `{"detach":"-1s"}`, 400, nil)
}
