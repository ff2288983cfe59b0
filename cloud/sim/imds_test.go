package sim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// wireIMDS is an IMDS handler and its clock.
type wireIMDS struct {
	t     *testing.T
	h     http.Handler
	s     *Server
	clock *wireClock
}

func newWireIMDS(t *testing.T) *wireIMDS {
	clock := newWireClock()
	s := wireServer(t, wireConfig(clock))
	return &wireIMDS{t: t, h: s.IMDSHandler(), s: s, clock: clock}
}

// do sends a request from the given source address.
func (w *wireIMDS) do(method, path, from string, hdr map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	req.RemoteAddr = from + ":40000"
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	w.h.ServeHTTP(rec, req)
	return rec
}

func (w *wireIMDS) token(from, ttl string) string {
	w.t.Helper()
	rec := w.do(http.MethodPut, "/latest/api/token", from, map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": ttl})
	if rec.Code != http.StatusOK || rec.Body.Len() == 0 {
		w.t.Fatalf("PUT token: %d %q", rec.Code, rec.Body.String())
	}
	if got := rec.Header().Get("X-Aws-Ec2-Metadata-Token-Ttl-Seconds"); got != ttl {
		w.t.Fatalf("TTL header %q, want %q", got, ttl)
	}
	return rec.Body.String()
}

func (w *wireIMDS) get(path, from, tok string) (int, string) {
	rec := w.do(http.MethodGet, path, from, map[string]string{"X-aws-ec2-metadata-token": tok})
	return rec.Code, rec.Body.String()
}

func TestIMDSTokenRules(t *testing.T) {
	w := newWireIMDS(t)
	const me = "198.18.0.10"
	for _, ttl := range []string{"", "0", "21601", "ten", "-1"} {
		hdr := map[string]string{}
		if ttl != "" {
			hdr["X-aws-ec2-metadata-token-ttl-seconds"] = ttl
		}
		if rec := w.do(http.MethodPut, "/latest/api/token", me, hdr); rec.Code != http.StatusBadRequest {
			t.Fatalf("PUT token with TTL %q: %d, want 400", ttl, rec.Code)
		}
	}
	rec := w.do(http.MethodPut, "/latest/api/token", me, map[string]string{
		"X-aws-ec2-metadata-token-ttl-seconds": "60", "X-Forwarded-For": "203.0.113.9"})
	if rec.Code != http.StatusForbidden {
		t.Fatalf("PUT token through a proxy: %d, want 403", rec.Code)
	}
	if rec := w.do(http.MethodGet, "/latest/api/token", me, nil); rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("GET token: %d, want 405", rec.Code)
	}

	tok := w.token(me, "60")
	if code, body := w.get("/latest/meta-data/instance-type", me, tok); code != 200 || body != "m5.large" {
		t.Fatalf("GET with token: %d %q", code, body)
	}
	for name, bad := range map[string]string{"none": "", "forged": "not-a-token", "tampered": tok[:len(tok)-2] + "AA"} {
		if code, _ := w.get("/latest/meta-data/instance-type", me, bad); code != http.StatusUnauthorized {
			t.Fatalf("GET with %s token: %d, want 401", name, code)
		}
	}
	if code, _ := w.get("/latest/meta-data/instance-type", "198.18.0.99", tok); code != http.StatusUnauthorized {
		t.Fatalf("GET with another caller's token: %d, want 401", code)
	}
	w.clock.Advance(59 * time.Second)
	if code, _ := w.get("/latest/meta-data/instance-type", me, tok); code != 200 {
		t.Fatalf("GET before expiry: %d", code)
	}
	w.clock.Advance(time.Second)
	if code, _ := w.get("/latest/meta-data/instance-type", me, tok); code != http.StatusUnauthorized {
		t.Fatalf("GET after expiry: %d, want 401", code)
	}
	w.token(me, "21600")
}

func TestIMDSPaths(t *testing.T) {
	w := newWireIMDS(t)
	const me = "198.18.0.10"
	snap := w.s.World().Snapshot()
	inst, eni := snap.Instances[0], snap.ENIs[0]
	tok := w.token(me, "300")
	mac := "/latest/meta-data/network/interfaces/macs/" + eni.MAC + "/"
	want := map[string]string{
		"/latest/meta-data/instance-id":                 inst.ID,
		"/latest/meta-data/instance-type":               "m5.large",
		"/latest/meta-data/placement/availability-zone": "us-west-2a",
		"/latest/meta-data/placement/region":            "us-west-2",
		"/latest/meta-data/mac":                         eni.MAC,
		"/latest/meta-data/local-ipv4":                  "198.18.0.10",
		"/latest/meta-data/network/interfaces/macs/":    eni.MAC + "/",
		"/latest/meta-data/network/interfaces/macs":     eni.MAC + "/",
		"/latest/meta-data/placement/":                  "availability-zone\nregion",
		"/latest/meta-data/iam/security-credentials/":   imdsRole,
		mac + "device-number":                           "0",
		mac + "network-card":                            "0",
		mac + "interface-id":                            eni.ID,
		mac + "local-ipv4s":                             "198.18.0.10",
		mac + "subnet-id":                               inst.SubnetID,
		mac + "subnet-ipv4-cidr-block":                  "198.18.0.0/20",
		mac + "vpc-id":                                  inst.VPCID,
		mac + "vpc-ipv4-cidr-blocks":                    "198.18.0.0/16",
		mac + "security-group-ids":                      strings.Join(eni.SecurityGroups, "\n"),
	}
	for p, v := range want {
		if code, body := w.get(p, me, tok); code != 200 || body != v {
			t.Errorf("GET %s: %d %q, want %q", p, code, body, v)
		}
	}
	for _, p := range []string{mac + "ipv4-prefix", "/latest/meta-data/nonesuch", "/latest/user-data", mac + "nonesuch"} {
		if code, _ := w.get(p, me, tok); code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, code)
		}
	}
	if code, body := w.get(mac, me, tok); code != 200 || strings.Contains(body, "ipv4-prefix") ||
		!strings.Contains(body, "local-ipv4s") {
		t.Errorf("GET %s: %d %q", mac, code, body)
	}
	code, body := w.get("/latest/meta-data/", me, tok)
	for _, entry := range []string{"instance-id", "instance-type", "placement/", "network/", "iam/", "mac", "local-ipv4"} {
		if code != 200 || !strings.Contains("\n"+body+"\n", "\n"+entry+"\n") {
			t.Errorf("meta-data listing lacks %q:\n%s", entry, body)
		}
	}
}

func TestIMDSCredentialsAndIdentity(t *testing.T) {
	w := newWireIMDS(t)
	const me = "198.18.0.10"
	tok := w.token(me, "300")
	_, body := w.get("/latest/meta-data/iam/security-credentials/"+imdsRole, me, tok)
	var creds struct {
		Code, AccessKeyID, SecretAccessKey, Token string
		Expiration                                time.Time
	}
	if err := json.Unmarshal([]byte(body), &creds); err != nil {
		t.Fatalf("credentials: %v\n%s", err, body)
	}
	if creds.Code != "Success" || creds.AccessKeyID == "" || creds.SecretAccessKey == "" || creds.Token == "" ||
		!creds.Expiration.After(w.clock.Now()) {
		t.Fatalf("credentials: %+v", creds)
	}
	_, body = w.get("/latest/dynamic/instance-identity/document", me, tok)
	var doc struct {
		Region, InstanceID, InstanceType, AvailabilityZone, PrivateIP, AccountID string
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatalf("identity document: %v\n%s", err, body)
	}
	inst := w.s.World().Snapshot().Instances[0]
	if doc.Region != "us-west-2" || doc.InstanceID != inst.ID || doc.InstanceType != "m5.large" ||
		doc.AvailabilityZone != "us-west-2a" || doc.PrivateIP != "198.18.0.10" || doc.AccountID != "123456789012" {
		t.Fatalf("identity document: %+v", doc)
	}
}

// TestIMDSChoosesInstanceBySource checks that a caller whose address is an
// instance's primary IP sees that instance, and anyone else the default.
func TestIMDSChoosesInstanceBySource(t *testing.T) {
	w := newWireIMDS(t)
	sub := w.s.World().Snapshot().Subnets[0]
	first := w.s.World().Snapshot().Instances[0]
	second, err := w.s.World().LaunchInstance("t3.medium", sub.ID, mustAddr(t, "198.18.0.20"))
	if err != nil {
		t.Fatal(err)
	}
	for from, want := range map[string]string{"198.18.0.20": second.ID, "127.0.0.1": first.ID} {
		tok := w.token(from, "60")
		if code, body := w.get("/latest/meta-data/instance-id", from, tok); code != 200 || body != want {
			t.Fatalf("from %s: %d %q, want %s", from, code, body, want)
		}
	}
}

// TestIMDSLagsTheAPI checks that an assign shows in IMDS only after the
// World's IMDS lag.
func TestIMDSLagsTheAPI(t *testing.T) {
	clock := newWireClock()
	cfg := wireConfig(clock)
	cfg.Delays.IMDSLag = Duration(time.Second)
	s := wireServer(t, cfg)
	w := &wireIMDS{t: t, h: s.IMDSHandler(), s: s, clock: clock}
	eni := s.World().Snapshot().ENIs[0]
	const me = "198.18.0.10"
	tok := w.token(me, "300")
	if _, err := s.World().AssignPrivateIpAddresses(AssignInput{ENIID: eni.ID, PrefixCount: 1}); err != nil {
		t.Fatal(err)
	}
	p := "/latest/meta-data/network/interfaces/macs/" + eni.MAC + "/ipv4-prefix"
	if code, _ := w.get(p, me, tok); code != http.StatusNotFound {
		t.Fatalf("prefix visible before the lag: %d", code)
	}
	clock.Advance(time.Second)
	if code, body := w.get(p, me, tok); code != 200 || !strings.HasSuffix(body, "/28") {
		t.Fatalf("prefix after the lag: %d %q", code, body)
	}
}

func mustAddr(t *testing.T, s string) netip.Addr {
	t.Helper()
	a, err := netip.ParseAddr(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
