package sim

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
)

// Pagination: a Describe answers at most MaxResults items and a NextToken
// that resumes after the last one. Items are ordered by key (their id), and
// the token carries a digest of the request (its action and parameters but
// NextToken, MaxResults and DryRun) and the last key answered, signed so
// that a client cannot forge it or use it with other filters: it stays
// valid while the world changes, as EC2's do, resuming at the next key
// still present.

// pageRule is an action's MaxResults range and its page size when
// MaxResults is not given (0: everything).
type pageRule struct {
	min, max    int
	defaultSize int
}

// pageTokens makes and checks NextTokens.
type pageTokens struct {
	signer *signer
}

func newPageTokens() *pageTokens { return &pageTokens{signer: newSigner()} }

// pageScope is what a NextToken is bound to: a digest of the request's
// action and parameters, but those that may change from page to page.
func pageScope(q *query) string {
	return base64.RawURLEncoding.EncodeToString([]byte(q.fingerprint("NextToken", "MaxResults", "DryRun"))[:12])
}

// token encodes the position after lastKey in the listing q asks for.
func (p *pageTokens) token(q *query, lastKey string) string {
	return p.signer.sign(pageScope(q) + "\n" + lastKey)
}

// lastKey checks a token against the request and returns the key it
// resumes after.
func (p *pageTokens) lastKey(q *query, token string) (string, bool) {
	payload, ok := p.signer.open(token)
	if !ok {
		return "", false
	}
	scope, key, ok := strings.Cut(payload, "\n")
	if !ok || scope != pageScope(q) {
		return "", false
	}
	return key, true
}

// page picks the window of keys (sorted ascending) that a request asks
// for: it returns the half-open index range and the NextToken to answer
// ("" on the last page).
func (a *ec2API) page(q *query, rule pageRule, keys []string) (int, int, string, *APIError) {
	size := rule.defaultSize
	n, given, err := q.int("MaxResults")
	if err != nil {
		return 0, 0, "", err
	}
	if given {
		if n < rule.min || n > rule.max {
			return 0, 0, "", qInvalid(fmt.Sprintf(
				"Value ( %d ) for parameter maxResults is invalid. Expecting a value between %d and %d.",
				n, rule.min, rule.max))
		}
		size = n
	}
	start := 0
	if q.has("NextToken") {
		last, ok := a.pages.lastKey(q, q.str("NextToken"))
		if !ok {
			return 0, 0, "", qErr(http.StatusBadRequest, "InvalidParameterValue",
				"The parameter NextToken is not a valid pagination token.")
		}
		for start < len(keys) && keys[start] <= last {
			start++
		}
	}
	end := len(keys)
	if size > 0 && start+size < end {
		end = start + size
	}
	next := ""
	if end < len(keys) {
		next = a.pages.token(q, keys[end-1])
	}
	return start, end, next, nil
}
