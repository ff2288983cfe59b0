package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/vpc-cni/vpc-cni/ipamd/hostnet"
)

// maxSocketPath is the longest unix socket path Linux takes (sun_path is
// 108 bytes with its terminating NUL).
const maxSocketPath = 107

func intSet(field func(*Config) *int, minimum int, w string) func(*parser, string) error {
	return func(p *parser, v string) error {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < minimum {
			return want(w)
		}
		*field(&p.c) = n
		return nil
	}
}

func boolSet(field func(*Config) *bool) func(*parser, string) error {
	return func(p *parser, v string) error { return parseBoolInto(field(&p.c), v) }
}

func parseBoolInto(dst *bool, v string) error {
	b, err := strconv.ParseBool(strings.TrimSpace(v))
	if err != nil {
		return want(wantBool)
	}
	*dst = b
	return nil
}

// setMaxENI: as in the AWS VPC CNI, 0 or less means no cap of our own.
func setMaxENI(p *parser, v string) error {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return want("a whole number: the most ENIs to use, or -1 for the instance type's limit")
	}
	if n < 1 {
		n = DefaultMaxENI
	}
	p.c.MaxENI = n
	return nil
}

func setCooldown(p *parser, v string) error {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n < 0 || n > int64(math.MaxInt64/time.Second) {
		return want("a whole number of seconds ≥ 0, e.g. 30")
	}
	p.c.IPCooldown = time.Duration(n) * time.Second
	return nil
}

func mtuSet(field func(*Config) *int) func(*parser, string) error {
	return func(p *parser, v string) error {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < MinMTU || n > MaxMTU {
			return want(fmt.Sprintf("a whole number from %d to %d", MinMTU, MaxMTU))
		}
		*field(&p.c) = n
		return nil
	}
}

func setExcludeCIDRs(p *parser, v string) error {
	var out []netip.Prefix
	var errs []error
	seen := map[netip.Prefix]bool{}
	for item := range strings.SplitSeq(v, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		pfx, err := netip.ParsePrefix(item)
		if err != nil || !pfx.Addr().Is4() {
			errs = append(errs, problem(fmt.Sprintf("%q is not an IPv4 CIDR", item),
				"comma-separated IPv4 CIDRs, e.g. 198.18.0.0/16,203.0.113.0/24"))
			continue
		}
		pfx = pfx.Masked()
		if !seen[pfx] {
			seen[pfx] = true
			out = append(out, pfx)
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	p.c.ExcludeSNATCIDRs = out
	return nil
}

func setRandomizeSNAT(p *parser, v string) error {
	switch r := hostnet.SNATRandom(strings.ToLower(strings.TrimSpace(v))); r {
	case hostnet.SNATRandomPRNG, hostnet.SNATRandomHash, hostnet.SNATRandomNone:
		p.c.RandomizeSNAT = r
		return nil
	}
	return want("prng, hashrandom or none")
}

// maxVethPrefix is the AWS VPC CNI's limit on AWS_VPC_K8S_CNI_VETHPREFIX,
// in bytes: the prefix and the hash of the pod's name must fit Linux's
// 15-byte interface names.
const maxVethPrefix = 4

func setVethPrefix(p *parser, v string) error {
	const w = "1 to 4 characters (bytes) valid in an interface name: no '/', ':', '%', " +
		"whitespace or control characters; not eth, lo or vlan; e.g. eni"
	switch {
	case len(v) > maxVethPrefix || !utf8.ValidString(v):
		return want(w)
	case strings.ContainsFunc(v, badIfNameRune):
		return problem("has a character an interface name cannot have", w)
	case v == "eth" || v == "lo" || v == "vlan":
		return problem("reserved for other interfaces", w)
	}
	p.c.VethPrefix = v
	return nil
}

// badIfNameRune reports a character Linux refuses in an interface name
// ('/', ':', whitespace), a control character, or '%', which the kernel
// reads as a template to number ("eth%d").
func badIfNameRune(r rune) bool {
	return r == '/' || r == ':' || r == '%' || unicode.IsSpace(r) || unicode.IsControl(r)
}

func setLogLevel(p *parser, v string) error {
	switch l := strings.ToLower(strings.TrimSpace(v)); l {
	case "debug", "info", "warn", "error":
		p.c.LogLevel = l
	case "warning":
		p.c.LogLevel = "warn"
	case "fatal": // the AWS VPC CNI's; slog has nothing above error
		p.c.LogLevel = "error"
	default:
		return want("debug, info, warn or error (any case)")
	}
	return nil
}

var hostnameRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$`)

func addrSet(field func(*Config) *string) func(*parser, string) error {
	const w = "host:port or :port, e.g. 127.0.0.1:61679"
	return func(p *parser, v string) error {
		v = strings.TrimSpace(v)
		if strings.HasPrefix(v, "unix:") {
			return problem("unix sockets are not supported here", w)
		}
		host, port, err := net.SplitHostPort(v)
		if err != nil {
			return want(w)
		}
		if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			return problem(fmt.Sprintf("port %q is not a number from 0 to 65535", port), w)
		}
		if host != "" && !hostnameRE.MatchString(host) {
			if _, err := netip.ParseAddr(host); err != nil {
				return problem(fmt.Sprintf("%q is neither an IP address nor a host name", host), w)
			}
		}
		*field(&p.c) = v
		return nil
	}
}

// pathSet takes an absolute path, cleaned; maxLen 0 is no limit.
func pathSet(field func(*Config) *string, maxLen int) func(*parser, string) error {
	return func(p *parser, v string) error {
		w := "an absolute path"
		if maxLen > 0 {
			w = fmt.Sprintf("an absolute path of at most %d bytes", maxLen)
		}
		if !filepath.IsAbs(v) || strings.ContainsRune(v, 0) {
			return want(w)
		}
		clean := filepath.Clean(v)
		if maxLen > 0 && len(clean) > maxLen {
			return problem("too long for a unix socket", w)
		}
		*field(&p.c) = clean
		return nil
	}
}

func setQPS(p *parser, v string) error {
	q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || math.IsNaN(q) || math.IsInf(q, 0) || q <= 0 {
		return want("a number > 0, e.g. 10 or 2.5")
	}
	p.c.EC2QPS = q
	return nil
}

func setAddWait(p *parser, v string) error {
	w := fmt.Sprintf("a duration > 0 and below %s (the kubelet's runtime request timeout), "+
		"e.g. 10s or 1500ms; a whole number is seconds", fmt.Sprintf("%gm", KubeletRuntimeTimeout.Minutes()))
	v = strings.TrimSpace(v)
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 || n >= int64(KubeletRuntimeTimeout/time.Second) {
			return want(w)
		}
		d = time.Duration(n) * time.Second
	} else if d, err = time.ParseDuration(v); err != nil {
		return want(w)
	}
	if d <= 0 || d >= KubeletRuntimeTimeout {
		return want(w)
	}
	p.c.AddWait = d
	return nil
}

// nodeNameRE is a Kubernetes node name: a DNS subdomain (RFC 1123).
var nodeNameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)

func setNodeName(p *parser, v string) error {
	if len(v) > 253 || !nodeNameRE.MatchString(v) {
		return want("a Kubernetes node name: at most 253 of a-z, 0-9, '-' and '.', starting and ending with a letter or digit")
	}
	p.c.NodeName = v
	return nil
}

func setClusterName(p *parser, v string) error {
	if utf8.RuneCountInString(v) > maxTagValue {
		return want(fmt.Sprintf("at most %d characters (it is an ENI tag value)", maxTagValue))
	}
	p.c.ClusterName = v
	return nil
}
