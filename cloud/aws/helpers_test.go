package aws

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// reply is one canned EC2 answer.
type reply struct {
	status int    // default 200
	body   string // XML
	hang   bool   // block until the client gives up
	drop   bool   // close the connection without an answer
}

// fakeEC2 is an httptest EC2 Query endpoint answering from a script.
type fakeEC2 struct {
	srv    *httptest.Server
	answer func(n int, action string, form url.Values) reply

	mu    sync.Mutex
	forms []url.Values
	auths []string // Authorization headers
}

func newFakeEC2(t *testing.T, answer func(n int, action string, form url.Values) reply) *fakeEC2 {
	t.Helper()
	f := &fakeEC2{answer: answer}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeEC2) serve(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.forms = append(f.forms, r.PostForm)
	f.auths = append(f.auths, r.Header.Get("Authorization"))
	n := len(f.forms)
	f.mu.Unlock()
	rep := f.answer(n, r.PostForm.Get("Action"), r.PostForm)
	if rep.hang {
		<-r.Context().Done()
		return
	}
	if rep.drop {
		dropConn(w)
		return
	}
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	if rep.status != 0 {
		w.WriteHeader(rep.status)
	}
	fmt.Fprint(w, rep.body)
}

// dropConn closes the request's connection without writing an answer.
func dropConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "fakeEC2: cannot drop a connection it cannot hijack", http.StatusTeapot)
		return
	}
	if conn, _, err := hj.Hijack(); err == nil {
		conn.Close()
	}
}

// requests returns the forms received so far.
func (f *fakeEC2) requests() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]url.Values(nil), f.forms...)
}

// authorizations returns the Authorization headers received so far.
func (f *fakeEC2) authorizations() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.auths...)
}

func okReply(action, inner string) reply {
	return reply{body: fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<%[1]sResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>ok-req</requestId>%[2]s</%[1]sResponse>`, action, inner)}
}

func errReply(status int, code, msg, requestID string) reply {
	return reply{status: status, body: fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error></Errors><RequestID>%s</RequestID></Response>`,
		code, msg, requestID)}
}

// testOptions are fast options against the fake server, with static
// credentials and a private registry.
func testOptions(endpoint string) (Options, *prometheus.Registry) {
	reg := prometheus.NewRegistry()
	return Options{
		Region:       "us-west-2",
		EC2Endpoint:  endpoint,
		IMDSEndpoint: "http://127.0.0.1:1", // never used: region and credentials are set
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		BaseBackoff:  time.Millisecond,
		MaxBackoff:   4 * time.Millisecond,
		QPS:          1000,
		Burst:        1000,
		Registerer:   reg,
	}, reg
}

func newTestEC2(t *testing.T, o Options) *EC2 {
	t.Helper()
	c, err := NewEC2(context.Background(), o)
	if err != nil {
		t.Fatalf("NewEC2: %v", err)
	}
	return c
}

// metric finds the sample of family name with exactly the given labels.
func metric(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) *dto.Metric {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if labelsEqual(m.GetLabel(), labels) {
				return m
			}
		}
	}
	return nil
}

func labelsEqual(got []*dto.LabelPair, want map[string]string) bool {
	if len(got) != len(want) {
		return false
	}
	for _, lp := range got {
		if v, ok := want[lp.GetName()]; !ok || v != lp.GetValue() {
			return false
		}
	}
	return true
}

func counterValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	m := metric(t, reg, name, labels)
	if m == nil {
		return 0
	}
	return m.GetCounter().GetValue()
}

func histogramCount(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) uint64 {
	t.Helper()
	m := metric(t, reg, name, labels)
	if m == nil {
		return 0
	}
	return m.GetHistogram().GetSampleCount()
}

// fakeIMDS is an httptest IMDSv2 endpoint serving a map of paths under
// /latest/meta-data/; a missing path is a 404.
type fakeIMDS struct {
	srv *httptest.Server

	mu     sync.Mutex
	values map[string]string
	hang   map[string]bool // paths that block until the client gives up
	gets   int
}

func newFakeIMDS(t *testing.T, values map[string]string) *fakeIMDS {
	t.Helper()
	f := &fakeIMDS{values: values}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

const testToken = "test-token"

func (f *fakeIMDS) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPut && r.URL.Path == "/latest/api/token" {
		w.Header().Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", "21600")
		fmt.Fprint(w, testToken)
		return
	}
	if r.Header.Get("X-Aws-Ec2-Metadata-Token") != testToken {
		http.Error(w, "missing token", http.StatusUnauthorized)
		return
	}
	path, ok := strings.CutPrefix(r.URL.Path, "/latest/meta-data/")
	f.mu.Lock()
	f.gets++
	v, found := f.values[path]
	hang := f.hang[path]
	f.mu.Unlock()
	if hang {
		<-r.Context().Done()
		return
	}
	if !ok || !found {
		http.NotFound(w, r)
		return
	}
	fmt.Fprint(w, v)
}

func (f *fakeIMDS) set(path, value string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.values[path] = value
}

func (f *fakeIMDS) del(path string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.values, path)
}

// hangOn makes reads of path block until the client gives up.
func (f *fakeIMDS) hangOn(path string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.hang == nil {
		f.hang = map[string]bool{}
	}
	f.hang[path] = true
}

// deadlineRecorder is an HTTP client that records the deadline of every
// request it sends, by URL path.
type deadlineRecorder struct {
	mu        sync.Mutex
	deadlines []recordedDeadline
}

type recordedDeadline struct {
	method, path string
	deadline     time.Time
	ok           bool
}

// Do implements aws.HTTPClient.
func (d *deadlineRecorder) Do(r *http.Request) (*http.Response, error) {
	dl, ok := r.Context().Deadline()
	d.mu.Lock()
	d.deadlines = append(d.deadlines, recordedDeadline{method: r.Method, path: r.URL.Path, deadline: dl, ok: ok})
	d.mu.Unlock()
	return http.DefaultClient.Do(r)
}

// recorded returns the requests seen so far.
func (d *deadlineRecorder) recorded() []recordedDeadline {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]recordedDeadline(nil), d.deadlines...)
}

// recordDeadlines puts a deadlineRecorder into o. The SDK cannot add a CA
// bundle to an HTTP client it did not build, so AWS_CA_BUNDLE is unset
// for the test.
func recordDeadlines(t *testing.T, o *Options) *deadlineRecorder {
	t.Helper()
	t.Setenv("AWS_CA_BUNDLE", "")
	rec := &deadlineRecorder{}
	o.HTTPClient = rec
	return rec
}
