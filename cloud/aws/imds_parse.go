package aws

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// ErrMalformedMetadata is a metadata value that does not parse; the error
// carrying it names the path and the value.
var ErrMalformedMetadata = errors.New("malformed metadata value")

func malformed(path, value string) error {
	return fmt.Errorf("%s: %q: %w", path, value, ErrMalformedMetadata)
}

// reader reads and parses a series of metadata values, keeping the first
// error: after it, every read is skipped and returns the zero value.
type reader struct {
	d   *IMDS
	ctx context.Context
	err error
}

// raw reads path; optional turns a 404 into the empty value.
func (r *reader) raw(path string, optional bool) (string, bool) {
	if r.err != nil {
		return "", false
	}
	get := r.d.get
	if optional {
		get = r.d.getOptional
	}
	v, err := get(r.ctx, path)
	if err != nil {
		r.err = err
		return "", false
	}
	return v, true
}

// str reads a required single value.
func (r *reader) str(path string) string {
	v, ok := r.raw(path, false)
	if !ok {
		return ""
	}
	s, err := single(path, v)
	if err != nil {
		r.err = err
	}
	return s
}

// int reads a required non-negative integer.
func (r *reader) int(path string) int {
	return r.parseInt(path, r.str(path))
}

// optInt reads a non-negative integer that defaults to 0 when absent.
func (r *reader) optInt(path string) int {
	v, ok := r.raw(path, true)
	if !ok || strings.TrimSpace(v) == "" {
		return 0
	}
	s, err := single(path, v)
	if err != nil {
		r.err = err
		return 0
	}
	return r.parseInt(path, s)
}

func (r *reader) parseInt(path, s string) int {
	if r.err != nil {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		r.err = malformed(path, s)
		return 0
	}
	return n
}

// addr reads a required IPv4 address.
func (r *reader) addr(path string) netip.Addr {
	s := r.str(path)
	if r.err != nil {
		return netip.Addr{}
	}
	a, err := parseIPv4(s)
	if err != nil {
		r.err = malformed(path, s)
	}
	return a
}

// prefix reads a required IPv4 CIDR block.
func (r *reader) prefix(path string) netip.Prefix {
	s := r.str(path)
	if r.err != nil {
		return netip.Prefix{}
	}
	p, err := parseIPv4Prefix(s)
	if err != nil {
		r.err = malformed(path, s)
	}
	return p
}

// list reads a required list of one value per line, at least one.
func (r *reader) list(path string) []string {
	v, ok := r.raw(path, false)
	if !ok {
		return nil
	}
	l := lines(v)
	if len(l) == 0 {
		r.err = malformed(path, v)
	}
	return l
}

// optList reads a list that is empty when absent.
func (r *reader) optList(path string) []string {
	v, ok := r.raw(path, true)
	if !ok {
		return nil
	}
	return lines(v)
}

// addrs reads a required list of IPv4 addresses, order kept.
func (r *reader) addrs(path string) []netip.Addr {
	var out []netip.Addr
	for _, s := range r.list(path) {
		a, err := parseIPv4(s)
		if err != nil {
			r.err = malformed(path, s)
			return nil
		}
		out = append(out, a)
	}
	return out
}

// prefixes reads a required list of IPv4 CIDR blocks.
func (r *reader) prefixes(path string) []netip.Prefix {
	return r.parsePrefixes(path, r.list(path))
}

// optPrefixes reads a list of IPv4 CIDR blocks that is empty when absent.
func (r *reader) optPrefixes(path string) []netip.Prefix {
	return r.parsePrefixes(path, r.optList(path))
}

func (r *reader) parsePrefixes(path string, l []string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range l {
		p, err := parseIPv4Prefix(s)
		if err != nil {
			r.err = malformed(path, s)
			return nil
		}
		out = append(out, p)
	}
	return out
}

// lines splits a metadata listing into its non-empty, trimmed lines.
func lines(v string) []string {
	var out []string
	for l := range strings.SplitSeq(v, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// single returns the one value of a scalar metadata path.
func single(path, v string) (string, error) {
	l := lines(v)
	if len(l) != 1 || strings.ContainsAny(l[0], " \t") {
		return "", malformed(path, v)
	}
	return l[0], nil
}

func parseIPv4(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return netip.Addr{}, fmt.Errorf("not an ipv4 address: %q", s)
	}
	return a, nil
}

// parseIPv4Prefix parses a CIDR block, which must be in canonical form
// (no host bits set).
func parseIPv4Prefix(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil || !p.Addr().Is4() || p.Masked() != p {
		return netip.Prefix{}, fmt.Errorf("not an ipv4 cidr block: %q", s)
	}
	return p, nil
}

// validMAC reports whether s is a MAC address as IMDS writes it: six
// colon-separated pairs of lower-case hex digits.
func validMAC(s string) bool {
	if len(s) != 17 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if i%3 == 2 {
			if c != ':' {
				return false
			}
			continue
		}
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
