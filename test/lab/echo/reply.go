package echo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
)

// Reply is the server's answer to one request.
type Reply struct {
	// Seen is the request's source address as the server saw it.
	Seen netip.Addr `json:"seen"`
	// Me is the server's local address the request arrived on.
	Me netip.Addr `json:"me"`
	// Host is the server's name (its --name).
	Host string `json:"host"`
}

// Errors callers branch on.
var (
	// ErrBadReply: the peer answered something that is not an echo reply.
	ErrBadReply = errors.New("not an echo reply")
	// ErrNoReply: nothing came back before the deadline (a drop, a
	// missing route, a server not running).
	ErrNoReply = errors.New("no reply")
	// ErrInvalid: the probe's arguments are wrong (protocol, target).
	ErrInvalid = errors.New("invalid probe")
)

// maxLine bounds a request line and a reply line. Requests are a word;
// replies are well under it.
const maxLine = 1024

// encode renders r as one JSON line, newline included.
func encode(r Reply) []byte {
	b, err := json.Marshal(r)
	if err != nil { // cannot happen: netip.Addr and string always marshal
		b = []byte(`{}`)
	}
	return append(b, '\n')
}

// decode parses one reply line. Both addresses must be present.
func decode(line []byte) (Reply, error) {
	line = bytes.TrimSpace(line)
	var r Reply
	if err := json.Unmarshal(line, &r); err != nil {
		return Reply{}, fmt.Errorf("%w: %q: %v", ErrBadReply, clip(line), err)
	}
	if !r.Seen.IsValid() || !r.Me.IsValid() {
		return Reply{}, fmt.Errorf("%w: %q: missing seen or me", ErrBadReply, clip(line))
	}
	return r, nil
}

// clip shortens b for an error message.
func clip(b []byte) []byte {
	const n = 64
	if len(b) > n {
		return b[:n]
	}
	return b
}
