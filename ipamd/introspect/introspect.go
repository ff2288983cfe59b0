// Package introspect serves ipamd's state as JSON for people and support
// tools: the managed ENIs with every address and its owner or cooldown, the
// effective configuration, the instance's limits, and the pool manager's
// state with its last error. The daemon binds it to 127.0.0.1 only. It reads
// everything through small func-typed Sources, so it depends on the daemon's
// types and nothing else.
package introspect

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/netip"
	"time"

	"github.com/vpc-cni/vpc-cni/ipamd/datastore"
	"github.com/vpc-cni/vpc-cni/ipamd/manager"
	"github.com/vpc-cni/vpc-cni/ipamd/pool"
)

// Paths served.
const (
	PathENIs    = "/v1/enis"
	PathConfig  = "/v1/config"
	PathLimits  = "/v1/limits"
	PathPool    = "/v1/pool"
	PathHealthz = "/healthz"
)

// Sources are where the handler reads what it serves, at each request. A
// nil source makes its path answer 404 (the daemon has nothing to show
// there yet).
type Sources struct {
	// ENIs and Allocations: datastore.Store.ENIs and Allocations.
	ENIs        func() []datastore.ENI
	Allocations func() []datastore.Allocation
	// Cooling returns, for each address cooling down, when it becomes
	// usable again. Nil: cooling addresses show as free.
	Cooling func() map[netip.Addr]time.Time
	// Config is the effective configuration, any JSON-able value.
	Config func() any
	// Limits are the instance's limits and max pods.
	Limits func() pool.Limits
	// Pool is the pool manager's state (manager.Manager.State).
	Pool func() manager.State
	// Health is nil when ipamd is healthy, else why not. A nil func is
	// always healthy.
	Health func() error
	// Now is the clock, to leave out expired backoffs; default time.Now.
	Now func() time.Time
}

// New returns the handler.
func New(src Sources) http.Handler {
	if src.Now == nil {
		src.Now = time.Now
	}
	h := &handler{src: src}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+PathENIs, h.enis)
	mux.HandleFunc("GET "+PathConfig, h.config)
	mux.HandleFunc("GET "+PathLimits, h.limits)
	mux.HandleFunc("GET "+PathPool, h.pool)
	mux.HandleFunc("GET "+PathHealthz, h.healthz)
	mux.HandleFunc("GET /{$}", h.index)
	return mux
}

type handler struct{ src Sources }

// errorBody is the JSON of an error answer.
type errorBody struct {
	Error string `json:"error"`
}

func (h *handler) index(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string][]string{
		"paths": {PathENIs, PathConfig, PathLimits, PathPool, PathHealthz},
	})
}

func (h *handler) enis(w http.ResponseWriter, r *http.Request) {
	if h.src.ENIs == nil {
		http.NotFound(w, r)
		return
	}
	var allocs []datastore.Allocation
	if h.src.Allocations != nil {
		allocs = h.src.Allocations()
	}
	var cooling map[netip.Addr]time.Time
	if h.src.Cooling != nil {
		cooling = h.src.Cooling()
	}
	writeJSON(w, http.StatusOK, enisView(h.src.ENIs(), allocs, cooling))
}

func (h *handler) config(w http.ResponseWriter, r *http.Request) {
	if h.src.Config == nil {
		http.NotFound(w, r)
		return
	}
	writeJSON(w, http.StatusOK, h.src.Config())
}

func (h *handler) limits(w http.ResponseWriter, r *http.Request) {
	if h.src.Limits == nil {
		http.NotFound(w, r)
		return
	}
	writeJSON(w, http.StatusOK, limitsView(h.src.Limits()))
}

func (h *handler) pool(w http.ResponseWriter, r *http.Request) {
	if h.src.Pool == nil {
		http.NotFound(w, r)
		return
	}
	writeJSON(w, http.StatusOK, poolView(h.src.Pool(), h.src.Now()))
}

// healthView is the answer of /healthz.
type healthView struct {
	Healthy bool   `json:"healthy"`
	Reason  string `json:"reason,omitempty"`
}

func (h *handler) healthz(w http.ResponseWriter, _ *http.Request) {
	if h.src.Health != nil {
		if err := h.src.Health(); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, healthView{Reason: err.Error()})
			return
		}
	}
	writeJSON(w, http.StatusOK, healthView{Healthy: true})
}

// writeJSON encodes v before writing anything, so that a value that does
// not encode is a clean 500 rather than half a document.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		buf.Reset()
		status = http.StatusInternalServerError
		// An errorBody always encodes.
		_ = json.NewEncoder(&buf).Encode(errorBody{Error: "encode answer: " + err.Error()})
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
