package sim

import (
	"encoding/json"
	"encoding/xml"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// wireClock is a settable clock for the HTTP layer's tests.
type wireClock struct {
	mu sync.Mutex
	t  time.Time
}

func newWireClock() *wireClock {
	return &wireClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *wireClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *wireClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// wireConfig is the default world, seeded, with no delays, no throttling
// and the test's clock.
func wireConfig(clock *wireClock) Config {
	c := DefaultConfig()
	c.Seed = 7
	c.Throttle = ThrottleConfig{}
	c.Delays = DelaysConfig{}
	if clock != nil {
		c.Clock = clock.Now
	}
	return c
}

func wireServer(t testing.TB, cfg Config) *Server {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

// wireCall posts an EC2 Query request to the handler.
func wireCall(t testing.TB, h http.Handler, action string, params ...string) *httptest.ResponseRecorder {
	t.Helper()
	v := url.Values{"Action": {action}, "Version": {"2016-11-15"}}
	for i := 0; i+1 < len(params); i += 2 {
		v.Add(params[i], params[i+1])
	}
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// wireOK calls an action that must succeed and decodes its answer.
func wireOK(t testing.TB, h http.Handler, out any, action string, params ...string) {
	t.Helper()
	rec := wireCall(t, h, action, params...)
	if rec.Code != http.StatusOK {
		t.Fatalf("%s %v: status %d\n%s", action, params, rec.Code, rec.Body.String())
	}
	if out == nil {
		return
	}
	if err := xml.Unmarshal(rec.Body.Bytes(), out); err != nil {
		t.Fatalf("%s: decode: %v\n%s", action, err, rec.Body.String())
	}
}

// wireErrorBody is EC2's error envelope, as a client decodes it.
type wireErrorBody struct {
	XMLName xml.Name `xml:"Response"`
	Errors  []struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	} `xml:"Errors>Error"`
	RequestID string `xml:"RequestID"`
}

// wireFail calls an action that must fail with status and code, and
// returns the message.
func wireFail(t testing.TB, h http.Handler, status int, code, action string, params ...string) string {
	t.Helper()
	rec := wireCall(t, h, action, params...)
	return wireCheckError(t, rec, status, code)
}

func wireCheckError(t testing.TB, rec *httptest.ResponseRecorder, status int, code string) string {
	t.Helper()
	var e wireErrorBody
	if err := xml.Unmarshal(rec.Body.Bytes(), &e); err != nil {
		t.Fatalf("error envelope: %v\n%s", err, rec.Body.String())
	}
	if rec.Code != status || len(e.Errors) != 1 || e.Errors[0].Code != code {
		t.Fatalf("got status %d %+v, want %d %s\n%s", rec.Code, e.Errors, status, code, rec.Body.String())
	}
	if e.RequestID == "" || rec.Header().Get("X-Amzn-Requestid") != e.RequestID {
		t.Fatalf("request id: body %q header %q", e.RequestID, rec.Header().Get("X-Amzn-Requestid"))
	}
	return e.Errors[0].Message
}

func TestServerStartServesBothAndCloses(t *testing.T) {
	s := wireServer(t, wireConfig(nil))
	if err := s.Start("127.0.0.1:0", ":0"); err != nil {
		t.Fatalf("Start: %v", err)
	}
	if err := s.Start("127.0.0.1:0", "127.0.0.1:0"); err == nil {
		t.Fatal("second Start succeeded")
	}
	if !strings.HasPrefix(s.EC2URL(), "http://127.0.0.1:") || !strings.HasPrefix(s.IMDSURL(), "http://127.0.0.1:") {
		t.Fatalf("URLs %q %q, want loopback", s.EC2URL(), s.IMDSURL())
	}
	for _, u := range []string{s.EC2URL() + "/sim/healthz", s.IMDSURL() + "/latest/meta-data/"} {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		want := http.StatusOK
		if strings.Contains(u, "meta-data") {
			want = http.StatusUnauthorized
		}
		if resp.StatusCode != want {
			t.Fatalf("GET %s: %d, want %d", u, resp.StatusCode, want)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := http.Get(s.EC2URL() + "/sim/healthz"); err == nil {
		t.Fatal("EC2 listener still answers after Close")
	}
}

func TestServerStartFailsOnBusyAddress(t *testing.T) {
	a := wireServer(t, wireConfig(nil))
	if err := a.Start("127.0.0.1:0", "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b := wireServer(t, wireConfig(nil))
	busy := strings.TrimPrefix(a.EC2URL(), "http://")
	if err := b.Start("127.0.0.1:0", busy); err == nil {
		b.Close()
		t.Fatal("Start on a busy IMDS address succeeded")
	}
}

func TestRecoverTurnsPanicIntoInternalError(t *testing.T) {
	h := recoverEC2(slogDiscard(), http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", nil))
	wireCheckError(t, rec, http.StatusInternalServerError, "InternalError")

	h = recoverIMDS(slogDiscard(), http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/latest/meta-data/", nil))
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("imds panic: status %d", rec.Code)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	c := wireConfig(nil)
	c.Instances[0].Subnet = "nowhere"
	if _, err := New(c); err == nil || !strings.Contains(err.Error(), "instances[0].subnet") {
		t.Fatalf("New with a bad subnet: %v", err)
	}
	c = wireConfig(nil)
	c.Instances[0].PrimaryIP = "10.0.0.10" // outside the subnet: the World refuses
	if _, err := New(c); err == nil || !strings.Contains(err.Error(), "instances[0]") {
		t.Fatalf("New with an IP outside the subnet: %v", err)
	}
}

func slogDiscard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// waitUntil polls cond until it holds; the deadline is generous and only
// keeps a broken test from hanging.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestServerCloseEndsSleepingRequests checks Close cancels a request
// sleeping in a latency knob instead of waiting for it: Close succeeds and
// the caller gets no answer.
func TestServerCloseEndsSleepingRequests(t *testing.T) {
	s := wireServer(t, wireConfig(nil))
	if err := s.Start("127.0.0.1:0", "127.0.0.1:0"); err != nil {
		t.Fatalf("Start: %v", err)
	}
	s.Knobs().SetLatency("DescribeVpcs", time.Hour)
	answered := make(chan error, 1)
	go func() {
		resp, err := http.PostForm(s.EC2URL(), url.Values{"Action": {"DescribeVpcs"}, "Version": {"2016-11-15"}})
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		answered <- err
	}()
	waitUntil(t, "the request is in flight", func() bool { return s.Knobs().Stats().Calls["DescribeVpcs"] == 1 })

	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Close did not return")
	}
	select {
	case err := <-answered:
		if err == nil {
			t.Fatal("the cancelled request got an answer")
		}
	case <-time.After(time.Minute):
		t.Fatal("the request did not end")
	}
}

// TestPopulateReturnsErrors checks populate parses the config itself: a
// config nobody validated fails with an error naming the field, and
// nothing panics.
func TestPopulateReturnsErrors(t *testing.T) {
	vpc := func(cidr, subnet string) []VPCConfig {
		return []VPCConfig{{CIDR: cidr, Subnets: []SubnetConfig{{Name: "a", CIDR: subnet}}}}
	}
	tests := []struct {
		cfg   Config
		field string
	}{
		{Config{Region: "r", VPCs: vpc("nope", "10.0.0.0/24")}, "vpcs[0].cidr"},
		{Config{Region: "r", VPCs: vpc("10.0.0.0/16", "x")}, "vpcs[0].subnets[0].cidr"},
		{Config{Region: "r", VPCs: vpc("10.0.0.0/16", "10.0.0.0/24"),
			Instances: []InstanceConfig{{Type: "m5.large", Subnet: "a", PrimaryIP: "ten"}}}, "instances[0].primaryIp"},
	}
	for _, tc := range tests {
		err := populate(NewWorld(WorldOptions{}), tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("populate: %v, want an error naming %s", err, tc.field)
		}
	}
}

func TestNewDefaultsTheAccount(t *testing.T) {
	c := wireConfig(nil)
	c.AccountID = ""
	if got := wireServer(t, c).World().AccountID(); got != DefaultAccountID {
		t.Fatalf("account %q, want %s", got, DefaultAccountID)
	}
}

// TestRecoverLogsThePanic checks the record a recovered panic leaves: the
// path, the panic value and the stack, under the package's log keys.
func TestRecoverLogsThePanic(t *testing.T) {
	var buf strings.Builder
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	h := recoverEC2(log, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/x", nil))
	var rec map[string]any
	if err := json.Unmarshal([]byte(buf.String()), &rec); err != nil {
		t.Fatalf("log record %q: %v", buf.String(), err)
	}
	if rec[logKeyPath] != "/x" || rec[logKeyPanic] != "boom" || rec[logKeyStack] == "" {
		t.Fatalf("log record %v", rec)
	}
}
