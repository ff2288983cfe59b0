package config

import (
	"encoding/json"
	"fmt"

	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/cni/pkg/version"
)

// convertResult decodes a prevResult of any spec version and converts it to
// the current result type. A result without its own cniVersion is of the
// configuration's version, as the spec says.
func convertResult(raw json.RawMessage, confVersion string) (*current.Result, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return nil, fmt.Errorf("got %s", describe(raw))
	}
	ver := confVersion
	if v, ok := top["cniVersion"]; ok {
		s, err := str(v)
		if err != nil {
			return nil, fmt.Errorf(`"cniVersion": %w`, err)
		}
		if s != "" {
			ver = s
		}
	}
	if err := noNullEntries(top); err != nil {
		return nil, err
	}
	top["cniVersion"], _ = json.Marshal(ver)
	raw, err := json.Marshal(top)
	if err != nil {
		return nil, err
	}
	r, err := convertSafely(ver, raw)
	if err != nil {
		return nil, err
	}
	return r, checkResult(r)
}

// noNullEntries refuses a null entry in a result's lists, which the cni
// library's converters would dereference.
func noNullEntries(top map[string]json.RawMessage) error {
	for _, k := range []string{"interfaces", "ips", "routes"} {
		v, ok := top[k]
		if !ok || isKind(v, 'n') {
			continue
		}
		items, err := list(v)
		if err != nil {
			return fmt.Errorf("%q: %w", k, err)
		}
		for i, item := range items {
			if !isKind(item, '{') {
				return fmt.Errorf("%q[%d]: got %s", k, i, describe(item))
			}
		}
	}
	return nil
}

// convertSafely runs the cni library's decoding and conversion; a panic in
// it (on input its converters do not expect) is an error, not a crash.
func convertSafely(ver string, raw []byte) (r *current.Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			r, err = nil, fmt.Errorf("cannot convert this result: %v", p)
		}
	}()
	res, err := version.NewResult(ver, raw)
	if err != nil {
		return nil, err
	}
	return current.NewResultFromResult(res)
}

// checkResult refuses what the plugin could not use safely: a missing
// entry, an IP without an address, an interface index out of range.
func checkResult(r *current.Result) error {
	for i, ifc := range r.Interfaces {
		if ifc == nil {
			return fmt.Errorf(`"interfaces"[%d] is null`, i)
		}
	}
	for i, ip := range r.IPs {
		switch {
		case ip == nil:
			return fmt.Errorf(`"ips"[%d] is null`, i)
		case ip.Address.IP == nil || ip.Address.Mask == nil:
			return fmt.Errorf(`"ips"[%d] has no address`, i)
		case ip.Interface != nil && (*ip.Interface < 0 || *ip.Interface >= len(r.Interfaces)):
			return fmt.Errorf(`"ips"[%d]: interface %d is not in "interfaces"`, i, *ip.Interface)
		}
	}
	for i, rt := range r.Routes {
		if rt == nil {
			return fmt.Errorf(`"routes"[%d] is null`, i)
		}
	}
	return nil
}
