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

// parser holds a configuration while its keys are applied.
type parser struct {
	c           Conf
	prevResult  json.RawMessage
	attachments map[string][]Attachment
}

// Parse decodes and validates the stdin of a plugin call. Malformed JSON
// is an error wrapping ErrDecode; an unknown, ill-typed or out-of-range
// key one wrapping ErrInvalid (a *KeyError naming the key), an
// unimplemented cniVersion one wrapping ErrVersion.
func Parse(stdin []byte) (Conf, error) {
	fields, err := topFields(stdin)
	if err != nil {
		return Conf{}, err
	}
	p := parser{c: Default(), attachments: map[string][]Attachment{}}
	for _, f := range fields {
		if err := p.apply(f); err != nil {
			return Conf{}, err
		}
	}
	return p.finish()
}

func (p *parser) apply(f field) error {
	if f.key == keyIPAM {
		return &KeyError{Key: keyIPAM, Kind: ErrInvalid, Problem: errors.New("vpc-cni assigns pod addresses itself, " +
			"through ipamd, and runs no IPAM plugin"), Fix: `remove the "ipam" section from vpc-cni's entry in the conflist`}
	}
	o, ok := options[f.key]
	if !ok {
		return unknownKey(f.key)
	}
	if err := o.set(p, f.raw); err != nil {
		return keyError(f.key, err)
	}
	return nil
}

func (p *parser) finish() (Conf, error) {
	for _, k := range []struct {
		key string
		v   string
	}{{keyVersion, p.c.CNIVersion}, {keyName, p.c.Name}, {keyType, p.c.Type}} {
		if k.v == "" {
			return Conf{}, keyError(k.key, errMissing)
		}
	}
	if p.prevResult != nil {
		r, err := convertResult(p.prevResult, p.c.CNIVersion)
		if err != nil {
			return Conf{}, keyError(keyPrevResult, err)
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
// an unimplemented cniVersion) and Problem.
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

func unknownKey(key string) *KeyError {
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
	return &KeyError{Key: key, Kind: ErrInvalid, Problem: errors.New("unknown key"), Fix: fix}
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
			err = errors.New("unknown key")
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
// for a GC with no valid attachment, is the empty list.
func setAttachments(key string) func(*parser, json.RawMessage) error {
	return func(p *parser, raw json.RawMessage) error {
		as := []Attachment{}
		if !isKind(raw, 'n') {
			items, err := list(raw)
			if err != nil {
				return err
			}
			for i, item := range items {
				a, err := attachment(item)
				if err != nil {
					return fmt.Errorf("entry %d: %w", i, err)
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

func attachment(raw json.RawMessage) (Attachment, error) {
	fields, err := subFields(raw)
	if err != nil {
		return Attachment{}, err
	}
	var a Attachment
	for _, f := range fields {
		switch f.key {
		case "containerID":
			a.ContainerID, err = str(f.raw)
		case "ifname":
			a.IfName, err = str(f.raw)
		default:
			err = errors.New("unknown key")
		}
		if err != nil {
			return Attachment{}, fmt.Errorf("%q: %w", f.key, err)
		}
	}
	return a, nil
}
