package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/containernetworking/cni/pkg/types"
)

// The keys of a plugin entry: ours, and those the spec and libcni add.
const (
	keyVersion          = "cniVersion"
	keyName             = "name"
	keyType             = "type"
	keySocket           = "ipamdSocket"
	keyMTU              = "mtu"
	keyVethPrefix       = "vethPrefix"
	keyLogFile          = "pluginLogFile"
	keyLogLevel         = "pluginLogLevel"
	keyLogMaxSize       = "pluginLogMaxSizeMB"
	keyTimeout          = "ipamdTimeout"
	keyDNS              = "dns"
	keyPrevResult       = "prevResult"
	keyRuntimeConfig    = "runtimeConfig"
	keyCapabilities     = "capabilities"
	keyArgs             = "args"
	keyValidAttachments = "cni.dev/valid-attachments"
	// keyAttachments is the spec's first name for the valid attachments;
	// libcni sends both on GC.
	keyAttachments = "cni.dev/attachments"
	keyIPAM        = "ipam"
)

// option is one accepted key: what it accepts, in words, and how its
// value is decoded, checked and set.
type option struct {
	want string
	set  func(p *parser, raw json.RawMessage) error
}

var options = map[string]option{
	keyVersion: {`one of "0.4.0", "1.0.0", "1.1.0"`, strOpt(func(c *Conf) *string { return &c.CNIVersion }, checkVersion)},
	keyName: {"the network's name: letters, digits, '_', '.' and '-', starting with a letter or digit",
		strOpt(func(c *Conf) *string { return &c.Name }, checkName)},
	keyType: {`the plugin's binary name, "vpc-cni"`, strOpt(func(c *Conf) *string { return &c.Type }, checkType)},
	keySocket: {fmt.Sprintf("the absolute path of ipamd's unix socket, at most %d bytes (default %s)", maxSocketPath, DefaultIpamdSocket),
		strOpt(func(c *Conf) *string { return &c.IpamdSocket }, checkSocket)},
	keyMTU: {fmt.Sprintf("an integer: 0 to take ipamd's MTU (the default), or %d..%d", MinMTU, MaxMTU),
		intOpt(func(c *Conf) *int { return &c.MTU }, checkMTU)},
	keyVethPrefix: {"1 to 4 characters (bytes) valid in an interface name: no '/', ':', '%', whitespace or control " +
		"characters; not eth, lo or vlan; the same as ipamd's AWS_VPC_K8S_CNI_VETHPREFIX (default " + DefaultVethPrefix + ")",
		strOpt(func(c *Conf) *string { return &c.VethPrefix }, checkVethPrefix)},
	keyLogFile: {`an absolute file path, or "" for no log file (default ` + DefaultLogFile + ")",
		strOpt(func(c *Conf) *string { return &c.LogFile }, checkLogFile)},
	keyLogLevel: {"debug, info, warn or error (default " + DefaultLogLevel + ")", setLogLevel},
	keyLogMaxSize: {fmt.Sprintf("an integer 1..%d, the size in MB at which the log rotates (default %d)", MaxLogMaxSizeMB, DefaultLogMaxSizeMB),
		intOpt(func(c *Conf) *int { return &c.LogMaxSizeMB }, checkLogMaxSize)},
	keyTimeout: {`a Go duration string from "1s" to "5m", e.g. "15s" (the default)`, setTimeout},
	keyDNS: {`an object of "nameservers" (a list of IP addresses), "domain" (a string), "search" and "options" (lists of strings)`,
		setDNS},
	keyPrevResult:       {"a CNI result object of any spec version", setPrevResult},
	keyRuntimeConfig:    {"an object", ignoredObject},
	keyArgs:             {"an object", ignoredObject},
	keyCapabilities:     {"an object of booleans", setCapabilities},
	keyValidAttachments: {`a list of {"containerID": string, "ifname": string}`, setAttachments(keyValidAttachments)},
	keyAttachments:      {`a list of {"containerID": string, "ifname": string}`, setAttachments(keyAttachments)},
}

// runtimePrefix is the prefix the CNI spec reserves for the fields the
// runtime injects; a key under it that vpc-cni does not use is ignored,
// as a newer runtime may add some.
const runtimePrefix = "cni.dev/"

// parser holds a configuration while its keys are applied.
type parser struct {
	c           Conf
	prevResult  json.RawMessage
	attachments map[string][]Attachment
	// lenient: a problem with a key a cleanup can do without is
	// tolerated (see ParseLenient), not an error.
	lenient   bool
	tolerated []error
	// bad are the keys whose problem was tolerated.
	bad map[string]bool
	// notes are the problems the key being applied tolerated itself.
	notes []error
}

// Parse decodes and validates the stdin of a plugin call, for ADD, CHECK
// and STATUS. Malformed JSON is an error wrapping ErrDecode; an unknown,
// ill-typed or out-of-range key one wrapping ErrInvalid (a *KeyError
// naming the key; an unknown key's also wraps ErrUnsupportedField), an
// unimplemented cniVersion one wrapping ErrVersion. Keys under "cni.dev/"
// that vpc-cni does not use are ignored.
func Parse(stdin []byte) (Conf, error) {
	c, _, err := parse(stdin, false)
	return c, err
}

// ParseLenient decodes the stdin of a call that cleans up (DEL, GC), which
// must not fail because the conflist changed since the ADD (the runtime
// passes it as it is on disk now: an upgrade, a rollback, an edit).
//
// It fails, as Parse does, only when stdin is not a JSON object
// (ErrDecode), when cniVersion is missing, ill-typed or unimplemented
// (ErrInvalid, ErrVersion), or when "cni.dev/valid-attachments" (or
// "cni.dev/attachments") does not parse: GC cannot run without it. Every
// other problem is tolerated and returned in tolerated, each a *KeyError as
// Parse's would be: an unknown key (or "ipam") is ignored; an ill-typed or
// out-of-range value of an option, or an option given twice, leaves that
// option at its default (a missing or bad name or type: empty); a
// prevResult that cannot be read or converted is dropped (PrevResult nil).
// On an error, c and tolerated are zero. For a stdin Parse accepts,
// ParseLenient returns the same Conf and no tolerated problem.
func ParseLenient(stdin []byte) (c Conf, tolerated []error, err error) {
	return parse(stdin, true)
}

func parse(stdin []byte, lenient bool) (Conf, []error, error) {
	fields, err := topFields(stdin)
	if err != nil {
		return Conf{}, nil, err
	}
	p := parser{c: Default(), attachments: map[string][]Attachment{}, lenient: lenient, bad: map[string]bool{}}
	dups := duplicated(fields)
	for _, f := range fields {
		var err error
		switch {
		case !dups[f.key]:
			err = p.apply(f)
		case p.bad[f.key]:
			continue // a duplicate, reported at its first occurrence
		default:
			err = duplicateError(f.key) // and neither occurrence applied
		}
		if err := p.problem(f.key, err); err != nil {
			return Conf{}, nil, err
		}
	}
	c, err := p.finish()
	if err != nil {
		return Conf{}, nil, err
	}
	return c, p.tolerated, nil
}

// needed are the keys a lenient parse still fails on: without them a
// cleanup cannot be done right.
var needed = map[string]bool{keyVersion: true, keyValidAttachments: true, keyAttachments: true}

// problem is what err, a problem with key (nil: none), does to the parse:
// the error, or, when lenient and the key is not needed, nothing but a
// tolerated problem. A key with a problem was not applied: its field keeps
// its default.
func (p *parser) problem(key string, err error) error {
	if err == nil {
		return nil
	}
	if !p.lenient || needed[key] {
		return err
	}
	p.tolerated = append(p.tolerated, err)
	p.bad[key] = true
	return nil
}

func (p *parser) apply(f field) error {
	if f.key == keyIPAM {
		return &KeyError{Key: keyIPAM, Kind: ErrInvalid, Problem: errors.New("vpc-cni assigns pod addresses itself, " +
			"through ipamd, and runs no IPAM plugin"), Fix: `remove the "ipam" section from vpc-cni's entry in the conflist`}
	}
	o, ok := options[f.key]
	switch {
	case ok:
	case strings.HasPrefix(f.key, runtimePrefix):
		return nil
	default:
		return unknownKey(f.key, f.raw)
	}
	p.notes = nil
	if err := o.set(p, f.raw); err != nil {
		return keyError(f.key, err)
	}
	for _, n := range p.notes {
		p.tolerated = append(p.tolerated, keyError(f.key, n))
	}
	return nil
}

func (p *parser) finish() (Conf, error) {
	for _, k := range []struct {
		key string
		v   string
	}{{keyVersion, p.c.CNIVersion}, {keyName, p.c.Name}, {keyType, p.c.Type}} {
		if k.v == "" && !p.bad[k.key] {
			if err := p.problem(k.key, keyError(k.key, errMissing)); err != nil {
				return Conf{}, err
			}
		}
	}
	if p.prevResult != nil {
		r, err := convertResult(p.prevResult, p.c.CNIVersion)
		if err != nil {
			if err := p.problem(keyPrevResult, keyError(keyPrevResult, err)); err != nil {
				return Conf{}, err
			}
		}
		p.c.PrevResult = r
	}
	for _, k := range []string{keyValidAttachments, keyAttachments} {
		if as, ok := p.attachments[k]; ok {
			p.c.ValidAttachments, p.c.HasValidAttachments = as, true
			break
		}
	}
	return p.c, nil
}

// KeyError is a key of the configuration that is unknown, missing,
// ill-typed or out of range. It wraps Kind (ErrInvalid, or ErrVersion for
// an unimplemented cniVersion) and Problem, which is ErrUnsupportedField
// to errors.Is for an unknown key (the message then gives its value).
type KeyError struct {
	Key     string
	Kind    error
	Problem error
	// Want says what the key accepts; Fix, when set, replaces it.
	Want, Fix string
}

func (e *KeyError) Error() string {
	tail := "want " + e.Want
	if e.Fix != "" {
		tail = e.Fix
	}
	return fmt.Sprintf("%v: %q: %v; %s", e.Kind, e.Key, e.Problem, tail)
}

// Unwrap gives Kind and Problem to errors.Is and errors.As.
func (e *KeyError) Unwrap() []error { return []error{e.Kind, e.Problem} }

func keyError(key string, problem error) *KeyError {
	kind := ErrInvalid
	if errors.Is(problem, ErrVersion) {
		kind = ErrVersion
	}
	return &KeyError{Key: key, Kind: kind, Problem: problem, Want: options[key].want}
}

// unsupportedField is the problem of an unknown key: ErrUnsupportedField
// to errors.Is, with the key's value for the message.
type unsupportedField struct{ value string }

func (u unsupportedField) Error() string { return "unknown key (its value: " + u.value + ")" }

func (unsupportedField) Is(target error) bool { return target == ErrUnsupportedField }

func unknownKey(key string, raw json.RawMessage) *KeyError {
	known := make([]string, 0, len(options))
	for k := range options {
		if k != keyAttachments {
			known = append(known, k)
		}
	}
	slices.Sort(known)
	fix := "remove it or correct its spelling; vpc-cni accepts " + strings.Join(known, ", ")
	for _, k := range known {
		if strings.EqualFold(k, key) {
			fix = fmt.Sprintf("keys are case-sensitive: did you mean %q?", k)
		}
	}
	return &KeyError{Key: key, Kind: ErrInvalid, Problem: unsupportedField{valueText(raw)}, Fix: fix}
}

func strOpt(field func(*Conf) *string, check func(string) error) func(*parser, json.RawMessage) error {
	return func(p *parser, raw json.RawMessage) error {
		s, err := str(raw)
		if err != nil {
			return err
		}
		if err := check(s); err != nil {
			return err
		}
		*field(&p.c) = s
		return nil
	}
}

func intOpt(field func(*Conf) *int, check func(int) error) func(*parser, json.RawMessage) error {
	return func(p *parser, raw json.RawMessage) error {
		n, err := integer(raw)
		if err != nil {
			return err
		}
		if err := check(n); err != nil {
			return err
		}
		*field(&p.c) = n
		return nil
	}
}

// setLogLevel takes the level in any case.
func setLogLevel(p *parser, raw json.RawMessage) error {
	s, err := str(raw)
	if err != nil {
		return err
	}
	l := strings.ToLower(s)
	if err := checkLogLevel(l); err != nil {
		return err
	}
	p.c.LogLevel = l
	return nil
}

func setTimeout(p *parser, raw json.RawMessage) error {
	s, err := str(raw)
	if err != nil {
		return err
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration", s)
	}
	if err := checkTimeout(d); err != nil {
		return err
	}
	p.c.IpamdTimeout = d
	return nil
}

func setDNS(p *parser, raw json.RawMessage) error {
	fields, err := subFields(raw)
	if err != nil {
		return err
	}
	var d types.DNS
	for _, f := range fields {
		switch f.key {
		case "nameservers":
			d.Nameservers, err = strList(f.raw)
		case "domain":
			d.Domain, err = str(f.raw)
		case "search":
			d.Search, err = strList(f.raw)
		case "options":
			d.Options, err = strList(f.raw)
		default:
			err = unsupportedField{valueText(f.raw)}
		}
		if err != nil {
			return fmt.Errorf("%q: %w", f.key, err)
		}
	}
	if err := checkDNS(d); err != nil {
		return err
	}
	p.c.DNS = d
	return nil
}

func setCapabilities(_ *parser, raw json.RawMessage) error {
	fields, err := subFields(raw)
	if err != nil {
		return err
	}
	for _, f := range fields {
		if !isKind(f.raw, 't') && !isKind(f.raw, 'f') {
			return fmt.Errorf("%q: got %s", f.key, describe(f.raw))
		}
	}
	return nil
}

func ignoredObject(_ *parser, raw json.RawMessage) error {
	_, err := subFields(raw)
	return err
}

func setPrevResult(p *parser, raw json.RawMessage) error {
	if !isKind(raw, '{') {
		return fmt.Errorf("got %s", describe(raw))
	}
	p.prevResult = raw
	return nil
}

// setAttachments decodes a list of attachments; null, which libcni sends
// for a GC with no valid attachment, is the empty list. An entry's unknown
// key is an error, or, when lenient, ignored and tolerated: a newer spec
// may add one.
func setAttachments(key string) func(*parser, json.RawMessage) error {
	return func(p *parser, raw json.RawMessage) error {
		as := []Attachment{}
		if !isKind(raw, 'n') {
			items, err := list(raw)
			if err != nil {
				return err
			}
			for i, item := range items {
				a, unknown, err := attachment(item)
				if err == nil && unknown != nil && !p.lenient {
					err = unknown
				}
				if err != nil {
					return fmt.Errorf("entry %d: %w", i, err)
				}
				if unknown != nil {
					p.notes = append(p.notes, fmt.Errorf("entry %d: %w", i, unknown))
				}
				as = append(as, a)
			}
		}
		if err := checkAttachments(as); err != nil {
			return err
		}
		p.attachments[key] = as
		return nil
	}
}

// attachment decodes one attachment; unknown is its first unknown key.
func attachment(raw json.RawMessage) (a Attachment, unknown, err error) {
	fields, err := subFields(raw)
	if err != nil {
		return Attachment{}, nil, err
	}
	for _, f := range fields {
		switch f.key {
		case "containerID":
			a.ContainerID, err = str(f.raw)
		case "ifname":
			a.IfName, err = str(f.raw)
		default:
			if unknown == nil {
				unknown = fmt.Errorf("%q: %w", f.key, unsupportedField{valueText(f.raw)})
			}
		}
		if err != nil {
			return Attachment{}, nil, fmt.Errorf("%q: %w", f.key, err)
		}
	}
	return a, unknown, nil
}
