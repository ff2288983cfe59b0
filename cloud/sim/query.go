package sim

import (
	"crypto/sha256"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// The EC2 Query protocol: every request is a flat set of name=value pairs
// (a form-encoded POST body, or a GET query string) naming the Action, the
// API Version and the action's parameters. Lists and structures are
// flattened into dotted names: Filter.1.Name, Filter.1.Value.2,
// TagSpecification.1.Tag.1.Key. Each action declares the patterns it takes,
// with "N" standing for a list index, and the parser checks every name and
// value against them before the action runs.

// Limits on a request, generous next to anything a real client sends.
const (
	maxQueryBody   = 1 << 20 // bytes
	maxQueryParams = 5000
	maxQueryIndex  = 100000 // a list index, 1-based
)

// qType is the type of a parameter's value.
type qType int

const (
	qString qType = iota
	qInt          // a non-negative 32-bit integer
	qBool         // true or false, in any case
	qAddr         // an IPv4 address
	qPrefix       // an IPv4 CIDR block with no host bits set
	// qUnsupported names a parameter EC2 has and ec2sim does not model: it
	// is recognized, and refused.
	qUnsupported
)

// actionSpec declares an action's parameters: name patterns ("Filter.N.Name")
// and their types, and the names that must be present (a list pattern's
// name, "ResourceId", requires at least one element).
type actionSpec struct {
	params   map[string]qType
	required []string
}

// protocolParams are accepted on every request and otherwise ignored: the
// protocol's own, and those of the signature schemes (query-string SigV4
// and the legacy SigV2).
var protocolParams = map[string]bool{
	"Action": true, "Version": true,
	"X-Amz-Algorithm": true, "X-Amz-Credential": true, "X-Amz-Date": true,
	"X-Amz-Expires": true, "X-Amz-SignedHeaders": true, "X-Amz-Signature": true,
	"X-Amz-Security-Token": true, "AWSAccessKeyId": true, "SignatureMethod": true,
	"SignatureVersion": true, "Signature": true, "Timestamp": true, "Expires": true,
	"SecurityToken": true,
}

// qNode is one level of a parsed request: a value, and the children its
// name has under it (structure members, or list indices as decimal text).
type qNode struct {
	key  string // the full name, e.g. "Filter.1.Value.2"
	val  string
	set  bool
	kids map[string]*qNode
}

// query is a parsed, validated request.
type query struct {
	action  string
	version string
	root    *qNode
}

// readQuery extracts the parameters of an HTTP request: the query string,
// plus the form body of a POST.
func readQuery(r *http.Request) (url.Values, *APIError) {
	vals, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, malformedQuery(err)
	}
	if r.Method != http.MethodPost || r.Body == nil {
		return vals, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxQueryBody+1))
	if err != nil {
		return nil, qErr(http.StatusBadRequest, "InvalidRequest", "The request body could not be read.")
	}
	if len(body) > maxQueryBody {
		return nil, qErr(http.StatusRequestEntityTooLarge, "InvalidRequest", "The request body is too large.")
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, malformedQuery(err)
	}
	for k, v := range form {
		vals[k] = append(vals[k], v...)
	}
	return vals, nil
}

func malformedQuery(err error) *APIError {
	return qErr(http.StatusBadRequest, "MalformedQueryString", "The query string is malformed: "+err.Error())
}

// actionOf returns the request's action and version, checking that the
// action is one the spec table knows.
func actionOf(vals url.Values, specs map[string]*actionSpec) (string, string, *APIError) {
	action := vals.Get("Action")
	if len(vals["Action"]) > 1 {
		return "", "", qInvalid("The parameter Action must be given once.")
	}
	if _, ok := specs[action]; !ok {
		if action == "" {
			return "", "", qErr(http.StatusBadRequest, "InvalidAction", "The request must contain an Action.")
		}
		return "", "", qErr(http.StatusBadRequest, "InvalidAction",
			fmt.Sprintf("The action %s is not valid for this web service.", action))
	}
	version := vals.Get("Version")
	if version == "" {
		return "", "", qMissing("Version")
	}
	return action, version, nil
}

// parseQuery validates every parameter of a request against the action's
// spec and returns the parsed tree.
func parseQuery(action, version string, vals url.Values, spec *actionSpec) (*query, *APIError) {
	if len(vals) > maxQueryParams {
		return nil, qErr(http.StatusBadRequest, "InvalidRequest", "The request has too many parameters.")
	}
	q := &query{action: action, version: version, root: &qNode{}}
	for _, name := range slices.Sorted(maps.Keys(vals)) {
		if protocolParams[name] {
			continue
		}
		if err := q.add(name, vals[name], spec); err != nil {
			return nil, err
		}
	}
	for _, name := range spec.required {
		if n := q.root.kids[name]; n == nil || (n.set && n.val == "" && len(n.kids) == 0) {
			return nil, qMissing(name)
		}
	}
	return q, nil
}

// add validates one name=value pair and stores it in the tree.
func (q *query) add(name string, values []string, spec *actionSpec) *APIError {
	segs := strings.Split(name, ".")
	pattern, ok := qPattern(segs)
	if !ok {
		return qUnknown(name)
	}
	if len(values) != 1 {
		return qInvalid(fmt.Sprintf("The parameter %s must be given once.", qTruncate(name, 128)))
	}
	typ, ok := spec.params[pattern]
	if !ok {
		// An empty list may be sent as its bare name with an empty value.
		if _, ok = spec.params[pattern+".N"]; !ok || values[0] != "" {
			return qUnknown(name)
		}
		typ = qString
	}
	if typ == qUnsupported {
		return qErr(http.StatusBadRequest, "UnsupportedOperation",
			fmt.Sprintf("The parameter %s is not supported by ec2sim.", name))
	}
	if err := checkValue(name, values[0], typ); err != nil {
		return err
	}
	return q.root.insert(segs, name, values[0])
}

// qPattern turns a parameter name into its pattern: each list index becomes
// "N". It fails on empty segments and on indices out of range.
func qPattern(segs []string) (string, bool) {
	out := make([]string, len(segs))
	for i, s := range segs {
		if s == "" {
			return "", false
		}
		if s[0] < '0' || s[0] > '9' {
			out[i] = s
			continue
		}
		if i == 0 || len(s) > 6 || s[0] == '0' {
			return "", false
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxQueryIndex {
			return "", false
		}
		out[i] = "N"
	}
	return strings.Join(out, "."), true
}

// insert stores a value under its segments, creating the levels between.
func (n *qNode) insert(segs []string, name, val string) *APIError {
	cur := n
	for i, s := range segs {
		if cur.kids == nil {
			cur.kids = map[string]*qNode{}
		}
		next := cur.kids[s]
		if next == nil {
			next = &qNode{key: strings.Join(segs[:i+1], ".")}
			cur.kids[s] = next
		}
		cur = next
	}
	if cur.set {
		return qInvalid(fmt.Sprintf("The parameter %s must be given once.", qTruncate(name, 128)))
	}
	cur.val, cur.set = val, true
	return nil
}

// checkValue checks that a value parses as its type.
func checkValue(name, v string, typ qType) *APIError {
	var ok bool
	switch typ {
	case qInt:
		n, err := strconv.ParseInt(v, 10, 32)
		ok = err == nil && n >= 0
	case qBool:
		ok = strings.EqualFold(v, "true") || strings.EqualFold(v, "false")
	case qAddr:
		a, err := netip.ParseAddr(v)
		ok = err == nil && a.Is4()
	case qPrefix:
		p, err := netip.ParsePrefix(v)
		ok = err == nil && p.Addr().Is4() && p == p.Masked()
	default:
		ok = true
	}
	if !ok {
		return qBadValue(name, v)
	}
	return nil
}

// qTruncate shortens a value quoted back in an error message.
func qTruncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// child returns the named child of a node, nil when absent; nil-safe.
func (n *qNode) child(name string) *qNode {
	if n == nil {
		return nil
	}
	return n.kids[name]
}

// items returns a list node's elements in index order; nil-safe.
func (n *qNode) items() []*qNode {
	if n == nil {
		return nil
	}
	keys := make([]int, 0, len(n.kids))
	for k := range n.kids {
		if i, err := strconv.Atoi(k); err == nil {
			keys = append(keys, i)
		}
	}
	slices.Sort(keys)
	out := make([]*qNode, 0, len(keys))
	for _, k := range keys {
		out = append(out, n.kids[strconv.Itoa(k)])
	}
	return out
}

// str returns a node's value, "" when absent.
func (n *qNode) str() string {
	if n == nil {
		return ""
	}
	return n.val
}

// has reports whether a value was given at the node.
func (n *qNode) has() bool { return n != nil && n.set }

// The typed accessors below read values checkValue already accepted; they
// still fail cleanly rather than trust it.

func (q *query) str(name string) string { return q.root.child(name).str() }

func (q *query) has(name string) bool { return q.root.child(name).has() }

// int returns an integer parameter and whether it was given.
func (q *query) int(name string) (int, bool, *APIError) {
	n := q.root.child(name)
	if !n.has() {
		return 0, false, nil
	}
	v, err := strconv.ParseInt(n.val, 10, 32)
	if err != nil || v < 0 {
		return 0, false, qBadValue(name, n.val)
	}
	return int(v), true, nil
}

// bool returns a boolean parameter, false when absent.
func (q *query) bool(name string) bool { return nodeBool(q.root.child(name)) }

func nodeBool(n *qNode) bool { return n.has() && strings.EqualFold(n.val, "true") }

// strs returns a flat list of strings (Name.1, Name.2, ...).
func (q *query) strs(name string) []string { return nodeStrs(q.root.child(name)) }

func nodeStrs(n *qNode) []string {
	var out []string
	for _, it := range n.items() {
		out = append(out, it.val)
	}
	return out
}

// addrs returns a flat list of IPv4 addresses.
func (q *query) addrs(name string) ([]netip.Addr, *APIError) {
	var out []netip.Addr
	for _, it := range q.root.child(name).items() {
		a, err := netip.ParseAddr(it.val)
		if err != nil {
			return nil, qBadValue(it.key, it.val)
		}
		out = append(out, a)
	}
	return out, nil
}

// prefixes returns a list of CIDR blocks; member names the structure
// member holding each one ("" for a flat list).
func (q *query) prefixes(name, member string) ([]netip.Prefix, *APIError) {
	var out []netip.Prefix
	for _, it := range q.root.child(name).items() {
		if member != "" {
			it = it.child(member)
			if it == nil {
				continue
			}
		}
		p, err := netip.ParsePrefix(it.val)
		if err != nil {
			return nil, qBadValue(it.key, it.val)
		}
		out = append(out, p)
	}
	return out, nil
}

// filters returns the Filter.N.Name / Filter.N.Value.M list.
func (q *query) filters() ([]Filter, *APIError) {
	var out []Filter
	for _, it := range q.root.child("Filter").items() {
		name := it.child("Name")
		if name.str() == "" {
			return nil, qMissing(it.key + ".Name")
		}
		out = append(out, Filter{Name: name.val, Values: nodeStrs(it.child("Value"))})
	}
	return out, nil
}

// nodeTags returns the Tag.N.Key / Tag.N.Value list under node n; keys are
// required.
func nodeTags(n *qNode) ([]Tag, *APIError) {
	var out []Tag
	for _, it := range n.items() {
		key := it.child("Key")
		if !key.has() {
			return nil, qMissing(it.key + ".Key")
		}
		out = append(out, Tag{Key: key.val, Value: it.child("Value").str()})
	}
	return out, nil
}

// fingerprint is a digest of the action and its parameters but those named
// in skip (top-level names): two requests with the same parameters, in any
// order, have the same fingerprint.
func (q *query) fingerprint(skip ...string) string {
	var pairs []string
	var walk func(n *qNode)
	walk = func(n *qNode) {
		if n.set {
			pairs = append(pairs, fmt.Sprintf("%d:%s=%d:%s", len(n.key), n.key, len(n.val), n.val))
		}
		for _, kid := range n.kids {
			walk(kid)
		}
	}
	for name, n := range q.root.kids {
		if !slices.Contains(skip, name) {
			walk(n)
		}
	}
	slices.Sort(pairs)
	h := sha256.New()
	h.Write([]byte(q.action))
	for _, p := range pairs {
		h.Write([]byte{'\n'})
		h.Write([]byte(p))
	}
	return string(h.Sum(nil))
}

// Errors of the protocol layer.

// qErr is an error of the protocol layer.
func qErr(status int, code, msg string) *APIError {
	return &APIError{Code: code, Message: msg, Status: status}
}

func qUnknown(name string) *APIError {
	return qErr(http.StatusBadRequest, "UnknownParameter",
		fmt.Sprintf("The parameter %s is not recognized", qTruncate(name, 128)))
}

func qMissing(name string) *APIError {
	return qErr(http.StatusBadRequest, "MissingParameter",
		fmt.Sprintf("The request must contain the parameter %s", name))
}

// qInvalid is InvalidParameterValue with a message.
func qInvalid(msg string) *APIError {
	return qErr(http.StatusBadRequest, "InvalidParameterValue", msg)
}

// qBadValue is InvalidParameterValue for a value that does not parse.
func qBadValue(name, v string) *APIError {
	return qInvalid(fmt.Sprintf("Value (%s) for parameter %s is invalid.", qTruncate(v, 64), qTruncate(name, 128)))
}
