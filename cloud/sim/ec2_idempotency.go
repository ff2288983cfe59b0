package sim

import (
	"fmt"
	"net/http"
	"sync"
	"time"
)

// Client tokens. An action that takes a ClientToken (of ours,
// CreateNetworkInterface; the SDK fills one in and keeps it across its
// retries) is idempotent: a repeat with the same token and the same
// parameters answers the first result instead of acting again, and the same
// token with other parameters fails with IdempotentParameterMismatch. Only
// successes are remembered. EC2 keeps a token for a limited time; ec2sim
// keeps one for clientTokenTTL of its clock, and at most clientTokenMax of
// them, forgetting the oldest first.
const (
	clientTokenTTL    = 24 * time.Hour
	clientTokenMax    = 4096
	clientTokenMaxLen = 64 // EC2: up to 64 ASCII characters, case-sensitive
)

// CodeIdempotentParameterMismatch is a ClientToken reused with other
// parameters.
const CodeIdempotentParameterMismatch = "IdempotentParameterMismatch"

// clientTokens remembers the successful requests that carried a token.
type clientTokens struct {
	mu    sync.Mutex
	now   func() time.Time
	seen  map[string]*tokenUse
	order []*tokenUse // oldest first
}

// tokenUse is a token's first successful request: a digest of its
// parameters and its result.
type tokenUse struct {
	token       string
	fingerprint string
	at          time.Time
	result      any
}

func newClientTokens(now func() time.Time) *clientTokens {
	return &clientTokens{now: now, seen: map[string]*tokenUse{}}
}

// once runs act unless token was already used: then it answers the first
// result when fingerprint (a digest of the request's other parameters) is
// the same, and IdempotentParameterMismatch when it is not. act runs under
// the lock, so concurrent repeats act once.
func (c *clientTokens) once(token, fingerprint string, act func() (any, error)) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	c.expire(now)
	if u, ok := c.seen[token]; ok {
		if u.fingerprint != fingerprint {
			return nil, errf(CodeIdempotentParameterMismatch,
				"The client token '%s' has already been used with different parameters.", token)
		}
		return u.result, nil
	}
	res, err := act()
	if err != nil {
		return nil, err
	}
	u := &tokenUse{token: token, fingerprint: fingerprint, at: now, result: res}
	c.seen[token] = u
	c.order = append(c.order, u)
	if len(c.order) > clientTokenMax {
		c.forgetOldest()
	}
	return res, nil
}

// expire forgets the tokens older than clientTokenTTL.
func (c *clientTokens) expire(now time.Time) {
	for len(c.order) > 0 && now.Sub(c.order[0].at) >= clientTokenTTL {
		c.forgetOldest()
	}
}

func (c *clientTokens) forgetOldest() {
	delete(c.seen, c.order[0].token)
	c.order[0] = nil
	c.order = c.order[1:]
}

// len is how many tokens are remembered.
func (c *clientTokens) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}

// checkClientToken refuses a token EC2 would not take.
func checkClientToken(token string) *APIError {
	ascii := true
	for i := range len(token) {
		ascii = ascii && token[i] >= 0x20 && token[i] < 0x7f
	}
	if len(token) > clientTokenMaxLen || !ascii {
		return qErr(http.StatusBadRequest, CodeInvalidParameterValue, fmt.Sprintf(
			"Value (%s) for parameter clientToken is invalid. It must be at most %d ASCII characters.",
			qTruncate(token, 80), clientTokenMaxLen))
	}
	return nil
}
