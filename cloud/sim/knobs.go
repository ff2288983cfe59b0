package sim

import (
	"cmp"
	"maps"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Bucket is a token bucket: it holds at most Size tokens and gains
// RefillPerSecond tokens each second; each request takes one. A bucket of
// Size 0 or less never throttles.
type Bucket struct {
	Size            int     `json:"size"`
	RefillPerSecond float64 `json:"refillPerSecond"`
}

// ThrottleConfig models EC2's request rate limiting: every action has its
// own bucket, sized by its category (mutating or non-mutating) unless
// PerAction overrides it. When Enabled is false nothing is throttled.
type ThrottleConfig struct {
	Enabled     bool              `json:"enabled"`
	Mutating    Bucket            `json:"mutating"`
	NonMutating Bucket            `json:"nonMutating"`
	PerAction   map[string]Bucket `json:"perAction,omitempty"`
}

// DefaultThrottle is EC2's published request rate limiting for the actions
// ec2sim serves ("Request throttling for the Amazon EC2 API": request token
// bucket sizes and refill rates): mutating actions 50 tokens refilled at 5
// per second, non-mutating 100 at 20, and the actions EC2 lists on their
// own with their own figures.
func DefaultThrottle() ThrottleConfig {
	return ThrottleConfig{
		Enabled:     true,
		Mutating:    Bucket{Size: 50, RefillPerSecond: 5},
		NonMutating: Bucket{Size: 100, RefillPerSecond: 20},
		PerAction: map[string]Bucket{
			"AssignPrivateIpAddresses":        {Size: 100, RefillPerSecond: 5},
			"UnassignPrivateIpAddresses":      {Size: 100, RefillPerSecond: 5},
			"CreateNetworkInterface":          {Size: 100, RefillPerSecond: 5},
			"DeleteNetworkInterface":          {Size: 100, RefillPerSecond: 5},
			"ModifyNetworkInterfaceAttribute": {Size: 100, RefillPerSecond: 5},
			"CreateTags":                      {Size: 100, RefillPerSecond: 10},
			"DeleteTags":                      {Size: 100, RefillPerSecond: 10},
			"RunInstances":                    {Size: 5, RefillPerSecond: 2},
			"TerminateInstances":              {Size: 100, RefillPerSecond: 5},
		},
	}
}

// Fault injects an EC2 error, or a dropped connection, into an action with
// a probability; Count > 0 limits how many times it fires. Action "*"
// matches every action.
//
// By default a fault fires before the action, which then does not run.
// With After it fires only once the action has succeeded: the change is
// made, and the client sees the error all the same. That is how ENIs and
// addresses leak in real life.
type Fault struct {
	Action      string  `json:"action"`
	Code        string  `json:"code,omitempty"`
	Message     string  `json:"message,omitempty"`
	Status      int     `json:"status,omitempty"` // default by code: 503 for RequestLimitExceeded, 500 for InternalError and Unavailable, else 400
	Probability float64 `json:"probability"`
	Count       int     `json:"count,omitempty"`
	After       bool    `json:"after,omitempty"`
	// Drop closes the connection without an answer (the client sees a
	// transport error) instead of answering an error: no Code, Message
	// or Status.
	Drop bool `json:"drop,omitempty"`
}

// StatDropped is the code under which Stats.Errors counts the connections
// a fault dropped.
const StatDropped = "ConnectionDropped"

// Injection is what a client gets in place of an action's answer: the EC2
// error Err or, when Drop, no answer at all.
type Injection struct {
	Err  *APIError
	Drop bool
}

// Stats counts EC2 API calls per action.
type Stats struct {
	Calls     map[string]int64            `json:"calls"`
	Throttled map[string]int64            `json:"throttled"`
	Errors    map[string]map[string]int64 `json:"errors"` // action -> code -> count
}

// Knobs are the realism controls applied to every EC2 API request: latency,
// throttling and fault injection, and the counters. Safe for concurrent use.
type Knobs struct {
	mu       sync.Mutex
	now      func() time.Time
	rng      *rand.Rand
	latency  map[string]time.Duration
	faults   []faultState
	throttle ThrottleConfig
	buckets  map[string]*bucketState
	stats    Stats
}

type faultState struct {
	Fault
	fired int
}

type bucketState struct {
	tokens float64
	last   time.Time
}

// NewKnobs returns knobs with no latency, no faults and throttling off. now
// nil means time.Now; seed 0 picks a random seed.
func NewKnobs(now func() time.Time, seed int64) *Knobs {
	if now == nil {
		now = time.Now
	}
	s := uint64(seed)
	if s == 0 {
		s = rand.Uint64()
	}
	k := &Knobs{
		now:     now,
		rng:     rand.New(rand.NewPCG(s, s^0x6a09e667f3bcc909)),
		latency: map[string]time.Duration{},
		buckets: map[string]*bucketState{},
	}
	k.stats = newStats()
	return k
}

func newStats() Stats {
	return Stats{Calls: map[string]int64{}, Throttled: map[string]int64{}, Errors: map[string]map[string]int64{}}
}

// SetLatency sets the latency added to an action ("*" for every action
// without its own setting). Zero or less removes the setting.
func (k *Knobs) SetLatency(action string, d time.Duration) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if d <= 0 {
		delete(k.latency, action)
		return
	}
	k.latency[action] = d
}

// Latency returns a copy of the latency settings.
func (k *Knobs) Latency() map[string]time.Duration {
	k.mu.Lock()
	defer k.mu.Unlock()
	return maps.Clone(k.latency)
}

// AddFault adds a fault.
func (k *Knobs) AddFault(f Fault) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.faults = append(k.faults, faultState{Fault: f})
}

// ClearFaults removes every fault.
func (k *Knobs) ClearFaults() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.faults = nil
}

// Faults returns the faults that can still fire; a fault with a Count shows
// how many times it has left.
func (k *Knobs) Faults() []Fault {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := make([]Fault, 0, len(k.faults))
	for _, f := range k.faults {
		if f.Count > 0 {
			if f.fired >= f.Count {
				continue
			}
			f.Count -= f.fired
		}
		out = append(out, f.Fault)
	}
	return out
}

// SetThrottle replaces the throttling configuration and refills buckets.
func (k *Knobs) SetThrottle(c ThrottleConfig) {
	k.mu.Lock()
	defer k.mu.Unlock()
	c.PerAction = maps.Clone(c.PerAction)
	k.throttle = c
	k.buckets = map[string]*bucketState{}
}

// Throttle returns a copy of the throttling configuration.
func (k *Knobs) Throttle() ThrottleConfig {
	k.mu.Lock()
	defer k.mu.Unlock()
	c := k.throttle
	c.PerAction = maps.Clone(c.PerAction)
	return c
}

// Admit is called once per EC2 request before the action runs. It counts
// the call and returns the latency to add and, when the request is
// throttled or a fault fires, what the client gets instead of running the
// action. Admit counts what it injects itself (in Errors, and a throttled
// call also in Throttled); the caller then calls Record only for an action
// that ran.
func (k *Knobs) Admit(action string) (time.Duration, *Injection) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.stats.Calls[action]++
	lat, ok := k.latency[action]
	if !ok {
		lat = k.latency["*"]
	}
	if !k.take(action) {
		k.stats.Throttled[action]++
		k.countError(action, CodeRequestLimitExceeded)
		return lat, &Injection{Err: throttledError()}
	}
	return lat, k.fire(action, false)
}

// AfterAction is called once an action has succeeded: when a fault with
// After fires, it returns what the client gets instead of the answer, and
// counts it.
func (k *Knobs) AfterAction(action string) *Injection {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.fire(action, true)
}

func throttledError() *APIError {
	return &APIError{Code: CodeRequestLimitExceeded, Message: "Request limit exceeded.", Status: http.StatusServiceUnavailable}
}

// take takes a token from the action's bucket, refilled by the clock since
// it was last used; false when the bucket is empty.
func (k *Knobs) take(action string) bool {
	if !k.throttle.Enabled {
		return true
	}
	cfg := k.bucketFor(action)
	if cfg.Size <= 0 {
		return true
	}
	now := k.now()
	b, ok := k.buckets[action]
	if !ok {
		b = &bucketState{tokens: float64(cfg.Size), last: now}
		k.buckets[action] = b
	}
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.tokens = min(float64(cfg.Size), b.tokens+elapsed.Seconds()*max(cfg.RefillPerSecond, 0))
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// bucketFor is the bucket an action draws from: its own, else its
// category's.
func (k *Knobs) bucketFor(action string) Bucket {
	if b, ok := k.throttle.PerAction[action]; ok {
		return b
	}
	if NonMutating(action) {
		return k.throttle.NonMutating
	}
	return k.throttle.Mutating
}

// NonMutating reports whether EC2 counts an action as non-mutating (it only
// reads: Describe*, Get*, List*, Search*); every other action mutates.
func NonMutating(action string) bool {
	for _, p := range []string{"Describe", "Get", "List", "Search"} {
		if strings.HasPrefix(action, p) {
			return true
		}
	}
	return false
}

// fire returns the injection of the first fault on the action, firing
// before it or after it, that fires, and counts it.
func (k *Knobs) fire(action string, after bool) *Injection {
	for i := range k.faults {
		f := &k.faults[i]
		if (f.Action != action && f.Action != "*") || f.After != after {
			continue
		}
		if f.Count > 0 && f.fired >= f.Count {
			continue
		}
		if f.Probability <= 0 || (f.Probability < 1 && k.rng.Float64() >= f.Probability) {
			continue
		}
		f.fired++
		if f.Drop {
			k.countError(action, StatDropped)
			return &Injection{Drop: true}
		}
		e := faultError(f.Fault)
		k.countError(action, e.Code)
		return &Injection{Err: e}
	}
	return nil
}

// faultError is the error a fault answers with, with the status and
// message defaulted by code.
func faultError(f Fault) *APIError {
	status, msg := http.StatusBadRequest, "Injected fault."
	switch f.Code {
	case CodeRequestLimitExceeded:
		status, msg = http.StatusServiceUnavailable, "Request limit exceeded."
	case CodeInternalError:
		status, msg = http.StatusInternalServerError, "An internal error has occurred."
	case CodeUnavailable:
		status, msg = http.StatusInternalServerError, "The server is overloaded or unable to process the request."
	}
	if f.Status != 0 {
		status = f.Status
	}
	return &APIError{Code: f.Code, Message: cmp.Or(f.Message, msg), Status: status}
}

// Record counts the outcome of an action that ran (err nil on success).
func (k *Knobs) Record(action string, err *APIError) {
	if err == nil {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.countError(action, err.Code)
}

func (k *Knobs) countError(action, code string) {
	m := k.stats.Errors[action]
	if m == nil {
		m = map[string]int64{}
		k.stats.Errors[action] = m
	}
	m[code]++
}

// Stats returns a copy of the counters.
func (k *Knobs) Stats() Stats {
	k.mu.Lock()
	defer k.mu.Unlock()
	s := Stats{Calls: maps.Clone(k.stats.Calls), Throttled: maps.Clone(k.stats.Throttled),
		Errors: make(map[string]map[string]int64, len(k.stats.Errors))}
	for a, m := range k.stats.Errors {
		s.Errors[a] = maps.Clone(m)
	}
	return s
}

// ResetStats zeroes the counters.
func (k *Knobs) ResetStats() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.stats = newStats()
}
