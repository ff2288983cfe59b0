package introspect

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/vpc-cni/vpc-cni/cloud"
	"github.com/vpc-cni/vpc-cni/ipamd/datastore"
	"github.com/vpc-cni/vpc-cni/ipamd/manager"
	"github.com/vpc-cni/vpc-cni/ipamd/pool"
)

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func ip(s string) netip.Addr    { return netip.MustParseAddr(s) }

// node is a primary ENI with two /32s and a secondary ENI with one /28.
func node() Sources {
	enis := []datastore.ENI{
		{ID: "eni-p", MAC: "02:00:00:00:00:01", Primary: true, SubnetID: "subnet-1",
			SubnetCIDR: pfx("198.18.0.0/24"), PrimaryIP: ip("198.18.0.5"),
			Blocks: []netip.Prefix{pfx("198.18.0.10/32"), pfx("198.18.0.11/32")}},
		{ID: "eni-s", MAC: "02:00:00:00:00:02", DeviceIndex: 1, SubnetID: "subnet-1",
			SubnetCIDR: pfx("198.18.0.0/24"), PrimaryIP: ip("198.18.0.6"),
			Blocks: []netip.Prefix{pfx("198.18.0.16/28")}},
	}
	allocs := []datastore.Allocation{
		{Key: datastore.Key{ContainerID: "c1", IfName: "eth0"},
			Pod: datastore.Pod{Namespace: "default", Name: "web-1"},
			IP:  ip("198.18.0.10"), Block: pfx("198.18.0.10/32"), ENI: "eni-p", RouteTable: 254, AssignedAt: t0},
		{Key: datastore.Key{ContainerID: "c2", IfName: "eth0"},
			Pod: datastore.Pod{Namespace: "default", Name: "web-2"},
			IP:  ip("198.18.0.17"), Block: pfx("198.18.0.16/28"), ENI: "eni-s", DeviceIndex: 1, RouteTable: 2, AssignedAt: t0},
	}
	cooling := map[netip.Addr]time.Time{ip("198.18.0.11"): t0.Add(30 * time.Second)}
	return Sources{
		ENIs:        func() []datastore.ENI { return enis },
		Allocations: func() []datastore.Allocation { return allocs },
		Cooling:     func() map[netip.Addr]time.Time { return cooling },
		Now:         func() time.Time { return t0 },
	}
}

// get serves one GET and returns the status, content type and body.
func get(t *testing.T, h http.Handler, path string) (int, string, []byte) {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), body
}

func decode[T any](t *testing.T, body []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return v
}

func TestENIs(t *testing.T) {
	code, ctype, body := get(t, New(node()), PathENIs)
	if code != http.StatusOK || ctype != "application/json" {
		t.Fatalf("status %d, content type %q", code, ctype)
	}
	v := decode[ENIsView](t, body)
	if len(v.ENIs) != 2 || len(v.Unplaced) != 0 {
		t.Fatalf("ENIs %d, unplaced %d; want 2, 0: %s", len(v.ENIs), len(v.Unplaced), body)
	}
	p, s := v.ENIs[0], v.ENIs[1]
	if p.RouteTable != datastore.MainRouteTable || s.RouteTable != 2 {
		t.Errorf("route tables %d, %d; want %d, 2", p.RouteTable, s.RouteTable, datastore.MainRouteTable)
	}
	if n := len(s.Blocks[0].Addresses); n != 16 {
		t.Errorf("a /28 lists %d addresses, want 16", n)
	}
	tests := []struct {
		eni, block, addr int
		ip, state, owner string
		coolingUntil     time.Time
	}{
		{0, 0, 0, "198.18.0.10", StateAssigned, "web-1", time.Time{}},
		{0, 1, 0, "198.18.0.11", StateCooling, "", t0.Add(30 * time.Second)},
		{1, 0, 0, "198.18.0.16", StateFree, "", time.Time{}},
		{1, 0, 1, "198.18.0.17", StateAssigned, "web-2", time.Time{}},
	}
	for _, tc := range tests {
		a := v.ENIs[tc.eni].Blocks[tc.block].Addresses[tc.addr]
		if a.IP != ip(tc.ip) || a.State != tc.state {
			t.Errorf("address %s: %s %s, want %s", tc.ip, a.IP, a.State, tc.state)
		}
		if got := ownerName(a); got != tc.owner {
			t.Errorf("address %s: owner %q, want %q", tc.ip, got, tc.owner)
		}
		if a.CoolingUntil != nil && !a.CoolingUntil.Equal(tc.coolingUntil) ||
			a.CoolingUntil == nil && !tc.coolingUntil.IsZero() {
			t.Errorf("address %s: cooling until %v, want %v", tc.ip, a.CoolingUntil, tc.coolingUntil)
		}
	}
	if o := v.ENIs[0].Blocks[0].Addresses[0].Owner; o == nil || o.ContainerID != "c1" || o.IfName != "eth0" {
		t.Errorf("owner of 198.18.0.10: %+v, want container c1 eth0", o)
	}
}

func ownerName(a AddressView) string {
	if a.Owner == nil {
		return ""
	}
	return a.Owner.Pod.Name
}

func TestENIsSkipsPrimaryAndShowsUnplaced(t *testing.T) {
	enis := []datastore.ENI{{ID: "eni-s", DeviceIndex: 1, PrimaryIP: ip("198.18.0.33"),
		Blocks: []netip.Prefix{pfx("198.18.0.32/28")}}}
	stray := datastore.Allocation{Key: datastore.Key{ContainerID: "c9", IfName: "eth0"}, IP: ip("203.0.113.9")}
	v := enisView(enis, []datastore.Allocation{stray}, nil)
	for _, a := range v.ENIs[0].Blocks[0].Addresses {
		if a.IP == ip("198.18.0.33") {
			t.Errorf("the ENI's primary address is listed as a pod address")
		}
	}
	if n := len(v.ENIs[0].Blocks[0].Addresses); n != 15 {
		t.Errorf("addresses %d, want 15", n)
	}
	if len(v.Unplaced) != 1 || v.Unplaced[0].ContainerID != "c9" {
		t.Errorf("unplaced %+v, want c9", v.Unplaced)
	}
}

func TestBlockAddrs(t *testing.T) {
	tests := []struct {
		block string
		n     int
		first string
	}{
		{"198.18.0.10/32", 1, "198.18.0.10"},
		{"198.18.0.16/28", 16, "198.18.0.16"},
		{"198.18.0.20/28", 16, "198.18.0.16"}, // not masked: masked first
		{"255.255.255.240/28", 16, "255.255.255.240"},
		{"198.18.0.0/16", maxBlockAddrs, "198.18.0.0"}, // bounded
	}
	for _, tc := range tests {
		var got []netip.Addr
		for a := range blockAddrs(pfx(tc.block)) {
			got = append(got, a)
		}
		if len(got) != tc.n || got[0] != ip(tc.first) {
			t.Errorf("%s: %d addresses from %v, want %d from %s", tc.block, len(got), got[0], tc.n, tc.first)
		}
	}
	for range blockAddrs(netip.Prefix{}) {
		t.Error("the zero prefix has addresses")
	}
}

func TestConfig(t *testing.T) {
	type cfg struct {
		WarmIPTarget int `json:"warmIPTarget"`
	}
	src := Sources{Config: func() any { return cfg{WarmIPTarget: 5} }}
	code, _, body := get(t, New(src), PathConfig)
	if code != http.StatusOK || strings.TrimSpace(string(body)) != "{\n  \"warmIPTarget\": 5\n}" {
		t.Errorf("status %d body %s", code, body)
	}
	bad := Sources{Config: func() any { return func() {} }}
	code, _, body = get(t, New(bad), PathConfig)
	if code != http.StatusInternalServerError || decode[errorBody](t, body).Error == "" {
		t.Errorf("a config that does not encode: status %d body %s, want 500 with an error", code, body)
	}
}

func TestLimits(t *testing.T) {
	l := pool.Limits{
		Type: cloud.InstanceTypeLimits{Type: "m5.large", MaxENIs: 3, IPv4PerENI: 10,
			NetworkCards: []cloud.NetworkCard{{Index: 0, MaxENIs: 3}}, Hypervisor: cloud.HypervisorNitro},
		MaxENIs: 2, MaxPods: 29,
	}
	code, _, body := get(t, New(Sources{Limits: func() pool.Limits { return l }}), PathLimits)
	v := decode[LimitsView](t, body)
	want := LimitsView{InstanceType: "m5.large", Hypervisor: "nitro", PrefixDelegation: true,
		TypeMaxENIs: 3, IPv4PerENI: 10, NetworkCards: []NetworkCard{{0, 3}}, MaxENIs: 2, MaxPods: 29}
	if code != http.StatusOK || !equalJSON(t, v, want) {
		t.Errorf("status %d, limits %+v, want %+v", code, v, want)
	}
}

func TestPool(t *testing.T) {
	st := manager.State{
		LastDecision: pool.Decision{
			Actions: []pool.Action{{Kind: pool.AssignIPs, ENI: "eni-s", Count: 5}},
			Short:   5, Blocked: "", Reason: "short of WARM_IP_TARGET",
		},
		LastPass:  t0,
		LastError: "assign 5 addresses to eni-s: throttled",
		Backoff: map[string]time.Time{
			"throttled":        t0.Add(10 * time.Second),
			"subnet-exhausted": t0.Add(-time.Second), // expired
		},
	}
	src := Sources{Pool: func() manager.State { return st }, Now: func() time.Time { return t0 }}
	code, _, body := get(t, New(src), PathPool)
	v := decode[PoolView](t, body)
	if code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	if v.LastPass == nil || !v.LastPass.Equal(t0) || v.LastError != st.LastError {
		t.Errorf("last pass %v error %q", v.LastPass, v.LastError)
	}
	if len(v.LastDecision.Actions) != 1 || v.LastDecision.Actions[0].Kind != pool.AssignIPs || v.LastDecision.Short != 5 {
		t.Errorf("decision %+v", v.LastDecision)
	}
	if len(v.Backoff) != 1 || !v.Backoff["throttled"].Equal(t0.Add(10*time.Second)) {
		t.Errorf("backoff %v, want only throttled (the expired one left out)", v.Backoff)
	}

	// Before the first pass.
	_, _, body = get(t, New(Sources{Pool: func() manager.State { return manager.State{} }}), PathPool)
	if v := decode[PoolView](t, body); v.LastPass != nil || v.LastDecision.Actions == nil || v.Backoff == nil {
		t.Errorf("empty state: %s", body)
	}
}

func TestHealthz(t *testing.T) {
	var healthErr error
	h := New(Sources{Health: func() error { return healthErr }})
	tests := []struct {
		err  error
		code int
		want healthView
	}{
		{nil, http.StatusOK, healthView{Healthy: true}},
		{errors.New("restoring the checkpoint"), http.StatusServiceUnavailable, healthView{Reason: "restoring the checkpoint"}},
	}
	for _, tc := range tests {
		healthErr = tc.err
		code, _, body := get(t, h, PathHealthz)
		if got := decode[healthView](t, body); code != tc.code || got != tc.want {
			t.Errorf("health error %v: %d %+v, want %d %+v", tc.err, code, got, tc.code, tc.want)
		}
	}
	if code, _, _ := get(t, New(Sources{}), PathHealthz); code != http.StatusOK {
		t.Errorf("no health source: %d, want 200", code)
	}
}

func TestMissingSourcesAndMethods(t *testing.T) {
	h := New(Sources{})
	for _, p := range []string{PathENIs, PathConfig, PathLimits, PathPool, "/v1/nothing"} {
		if code, _, _ := get(t, h, p); code != http.StatusNotFound {
			t.Errorf("GET %s without a source: %d, want 404", p, code)
		}
	}
	srv := httptest.NewServer(New(node()))
	defer srv.Close()
	resp, err := http.Post(srv.URL+PathENIs, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST %s: %d, want 405", PathENIs, resp.StatusCode)
	}
	code, _, body := get(t, h, "/")
	if code != http.StatusOK || !strings.Contains(string(body), PathENIs) {
		t.Errorf("index: %d %s", code, body)
	}
}

func equalJSON(t *testing.T, a, b any) bool {
	t.Helper()
	x, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	y, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(x) == string(y)
}

// The view of a real datastore agrees with its own counts.
func TestENIsOfRealStore(t *testing.T) {
	store := datastore.New(datastore.Options{})
	err := store.AddENI(datastore.ENI{ID: "eni-s", DeviceIndex: 1, SubnetID: "subnet-1",
		SubnetCIDR: pfx("198.18.0.0/20"), PrimaryIP: ip("198.18.0.6"),
		Blocks: []netip.Prefix{pfx("198.18.1.0/28"), pfx("198.18.0.7/32")}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"c1", "c2", "c3"} {
		if _, err := store.Assign(datastore.Key{ContainerID: c, IfName: "eth0"}, datastore.Pod{Name: c}); err != nil {
			t.Fatal(err)
		}
	}
	h := New(Sources{ENIs: store.ENIs, Allocations: store.Allocations})
	_, _, body := get(t, h, PathENIs)
	v := decode[ENIsView](t, body)
	counts := map[string]int{}
	for _, e := range v.ENIs {
		for _, b := range e.Blocks {
			for _, a := range b.Addresses {
				counts[a.State]++
			}
		}
	}
	st := store.Stats()
	if counts[StateAssigned] != st.Assigned || counts[StateFree] != st.Available || len(v.Unplaced) != 0 {
		t.Errorf("view %v, unplaced %d; store %+v", counts, len(v.Unplaced), st)
	}
}
