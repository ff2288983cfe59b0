package config

import (
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/containernetworking/cni/pkg/types"
)

// The rule of each key, as a pure check of its Go value; Parse and
// Validate share them. Each error is the problem alone: the caller names
// the key and what it accepts.

// maxSocketPath is the longest unix socket path Linux takes (sun_path is
// 108 bytes with its terminating NUL).
const maxSocketPath = 107

// maxVethPrefix: the prefix and the hash of the pod's name must fit
// Linux's 15-byte interface names (the AWS VPC CNI's limit).
const maxVethPrefix = 4

// nameRE is the CNI spec's rule for a network name.
var nameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$`)

var errMissing = errors.New("missing or empty")

func checkVersion(v string) error {
	switch {
	case v == "":
		return errMissing
	case !slices.Contains(supportedVersions, v):
		return unsupportedVersion(v)
	}
	return nil
}

// unsupportedVersion is a cniVersion the plugin does not implement; it is
// ErrVersion to errors.Is.
type unsupportedVersion string

func (v unsupportedVersion) Error() string { return fmt.Sprintf("%q is not implemented", string(v)) }

func (unsupportedVersion) Is(target error) bool { return target == ErrVersion }

func checkName(v string) error {
	switch {
	case v == "":
		return errMissing
	case !nameRE.MatchString(v):
		return fmt.Errorf("%q has a character the CNI spec does not allow", v)
	}
	return nil
}

func checkType(v string) error {
	switch {
	case v == "":
		return errMissing
	case strings.ContainsAny(v, "/\\\x00"):
		return fmt.Errorf("%q is not a file name", v)
	}
	return nil
}

func checkAbsPath(v string) error {
	switch {
	case !filepath.IsAbs(v):
		return fmt.Errorf("%q is not an absolute path", v)
	case strings.HasSuffix(v, "/"):
		return fmt.Errorf("%q names a directory", v)
	case strings.ContainsRune(v, 0):
		return errors.New("has a NUL byte")
	}
	return nil
}

func checkSocket(v string) error {
	if err := checkAbsPath(v); err != nil {
		return err
	}
	if len(v) > maxSocketPath {
		return fmt.Errorf("%d bytes long, longer than a unix socket path can be", len(v))
	}
	return nil
}

func checkMTU(v int) error {
	if v != 0 && (v < MinMTU || v > MaxMTU) {
		return fmt.Errorf("%d is out of range", v)
	}
	return nil
}

// checkVethPrefix is the rule of ipamd's AWS_VPC_K8S_CNI_VETHPREFIX
// (ipamd/config), written again: cni does not depend on ipamd.
func checkVethPrefix(v string) error {
	switch {
	case v == "" || len(v) > maxVethPrefix:
		return fmt.Errorf("%q is %d bytes long", v, len(v))
	case !utf8.ValidString(v) || strings.ContainsFunc(v, badIfNameRune):
		return fmt.Errorf("%q has a character an interface name cannot have", v)
	case v == "eth" || v == "lo" || v == "vlan":
		return fmt.Errorf("%q is reserved for other interfaces", v)
	}
	return nil
}

// badIfNameRune reports a character Linux refuses in an interface name
// ('/', ':', whitespace), a control character, or '%', which the kernel
// reads as a template to number ("eth%d").
func badIfNameRune(r rune) bool {
	return r == '/' || r == ':' || r == '%' || unicode.IsSpace(r) || unicode.IsControl(r)
}

func checkLogFile(v string) error {
	if v == "" {
		return nil
	}
	return checkAbsPath(v)
}

func checkLogLevel(v string) error {
	switch v {
	case "debug", "info", "warn", "error":
		return nil
	}
	return fmt.Errorf("%q is not a level", v)
}

func checkLogMaxSize(v int) error {
	if v < 1 || v > MaxLogMaxSizeMB {
		return fmt.Errorf("%d is out of range", v)
	}
	return nil
}

func checkTimeout(v time.Duration) error {
	if v < MinIpamdTimeout || v > MaxIpamdTimeout {
		return fmt.Errorf("%v is out of range", v)
	}
	return nil
}

func checkDNS(d types.DNS) error {
	for i, s := range d.Nameservers {
		if _, err := netip.ParseAddr(s); err != nil {
			return fmt.Errorf("nameservers[%d] %q is not an IP address", i, s)
		}
	}
	return nil
}

func checkAttachments(as []Attachment) error {
	for i, a := range as {
		if a.ContainerID == "" || a.IfName == "" {
			return fmt.Errorf("entry %d has an empty containerID or ifname", i)
		}
	}
	return nil
}
