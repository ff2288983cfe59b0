package sim

import "time"

// CONTRACT STUB: exported signatures are the contract with the HTTP layer.

// Bucket is a token bucket: it holds at most Size tokens and gains
// RefillPerSecond tokens each second; each request takes one.
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

// Fault injects an EC2 error into an action with a probability; Count > 0
// limits how many times it fires. Action "*" matches every action.
type Fault struct {
	Action      string  `json:"action"`
	Code        string  `json:"code"`
	Message     string  `json:"message,omitempty"`
	Status      int     `json:"status,omitempty"` // default by code: 503 for RequestLimitExceeded, else 400
	Probability float64 `json:"probability"`
	Count       int     `json:"count,omitempty"`
}

// Stats counts EC2 API calls per action.
type Stats struct {
	Calls     map[string]int64            `json:"calls"`
	Throttled map[string]int64            `json:"throttled"`
	Errors    map[string]map[string]int64 `json:"errors"` // action -> code -> count
}

// Knobs are the realism controls applied to every EC2 API request: latency,
// throttling and fault injection, and the counters. Safe for concurrent use.
type Knobs struct{}

// NewKnobs returns knobs with no latency, no faults and throttling off.
func NewKnobs(now func() time.Time, seed int64) *Knobs { return &Knobs{} }

// SetLatency sets the latency added to an action ("*" for every action
// without its own setting).
func (k *Knobs) SetLatency(action string, d time.Duration) {}

// AddFault adds a fault.
func (k *Knobs) AddFault(f Fault) {}

// ClearFaults removes every fault.
func (k *Knobs) ClearFaults() {}

// SetThrottle replaces the throttling configuration and refills buckets.
func (k *Knobs) SetThrottle(c ThrottleConfig) {}

// Admit is called once per EC2 request before the action runs. It counts
// the call and returns the latency to add and, when the request is
// throttled or a fault fires, the error to answer instead.
func (k *Knobs) Admit(action string) (time.Duration, *APIError) { return 0, nil }

// Record counts the outcome of an action that ran (err nil on success).
func (k *Knobs) Record(action string, err *APIError) {}

// Stats returns a copy of the counters.
func (k *Knobs) Stats() Stats { return Stats{} }

// ResetStats zeroes the counters.
func (k *Knobs) ResetStats() {}
