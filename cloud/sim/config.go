package sim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"os"
	"slices"
	"time"

	"github.com/vpc-cni/vpc-cni/cloud"
)

// Config describes a world to start ec2sim with: the account, the realism
// controls, and the VPCs, subnets and instances that exist at start.
type Config struct {
	Region    string `json:"region"`
	AZ        string `json:"availabilityZone,omitempty"` // default AZ of subnets; default <region>a
	AccountID string `json:"accountId"`
	Seed      int64  `json:"seed,omitempty"`

	Delays   DelaysConfig        `json:"delays"`
	Throttle ThrottleConfig      `json:"throttle"`
	Latency  map[string]Duration `json:"latency,omitempty"` // per action, "*" for all
	Faults   []Fault             `json:"faults,omitempty"`

	VPCs      []VPCConfig      `json:"vpcs"`
	Instances []InstanceConfig `json:"instances"`

	// Clock is the time source of the World, the Knobs and IMDS tokens;
	// default time.Now. Logger receives errors; default none.
	Clock  func() time.Time `json:"-"`
	Logger *slog.Logger     `json:"-"`
}

// DelaysConfig are the World's settling and propagation delays.
type DelaysConfig struct {
	Attach  Duration `json:"attach"`
	Detach  Duration `json:"detach"`
	IMDSLag Duration `json:"imdsLag"`
}

// VPCConfig is a VPC and its subnets.
type VPCConfig struct {
	CIDR    string            `json:"cidr"`
	Tags    map[string]string `json:"tags,omitempty"`
	Subnets []SubnetConfig    `json:"subnets"`
}

// SubnetConfig is a subnet. Instances name it by Name or by CIDR.
type SubnetConfig struct {
	Name string            `json:"name,omitempty"` // also its Name tag
	AZ   string            `json:"availabilityZone,omitempty"`
	CIDR string            `json:"cidr"`
	Tags map[string]string `json:"tags,omitempty"`
}

// InstanceConfig is a running instance launched at start.
type InstanceConfig struct {
	Type      string `json:"type"`
	Subnet    string `json:"subnet"`              // a subnet's name or CIDR
	PrimaryIP string `json:"primaryIp,omitempty"` // default: the subnet picks
}

// Duration is a time.Duration written in JSON as a Go duration string
// ("500ms", "1s").
type Duration time.Duration

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a Go duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string like \"500ms\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %q: %w", s, err)
	}
	if v < 0 {
		return fmt.Errorf("duration %q is negative", s)
	}
	*d = Duration(v)
	return nil
}

// DefaultConfig is the world ec2sim starts with when given no config: one
// VPC, one large subnet, one running m5.large at 198.18.0.10, EC2's
// throttling on, and realistic attach and metadata delays.
func DefaultConfig() Config {
	return Config{
		Region: DefaultRegion, AZ: DefaultRegion + "a", AccountID: DefaultAccountID,
		Delays: DelaysConfig{
			Attach: Duration(500 * time.Millisecond), Detach: Duration(500 * time.Millisecond),
			IMDSLag: Duration(time.Second),
		},
		Throttle: DefaultThrottle(),
		VPCs: []VPCConfig{{
			CIDR: "198.18.0.0/16", Tags: map[string]string{"Name": "ec2sim"},
			Subnets: []SubnetConfig{{Name: "ec2sim-a", AZ: "us-west-2a", CIDR: "198.18.0.0/20"}},
		}},
		Instances: []InstanceConfig{{Type: "m5.large", Subnet: "ec2sim-a", PrimaryIP: "198.18.0.10"}},
	}
}

// LoadConfig reads a JSON config file. Fields it leaves out keep the
// zero value (not DefaultConfig's); unknown fields are errors.
func LoadConfig(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read config: %w", err)
	}
	return ParseConfig(b)
}

// ParseConfig parses and validates a JSON config.
func ParseConfig(b []byte) (Config, error) {
	var c Config
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Config{}, fmt.Errorf("parse config: %w", err)
	}
	if dec.More() {
		return Config{}, errors.New("parse config: trailing data after the JSON object")
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Validate checks a config; its errors name the offending field.
func (c Config) Validate() error {
	if c.Region == "" {
		return errors.New("config: region: required")
	}
	if c.AccountID != "" && !isDigits(c.AccountID, 12) {
		return fmt.Errorf("config: accountId: %q is not a 12-digit account id", c.AccountID)
	}
	if err := validateFaults(c.Faults); err != nil {
		return err
	}
	for i, v := range c.VPCs {
		if err := v.validate(fmt.Sprintf("vpcs[%d]", i)); err != nil {
			return err
		}
	}
	names := c.subnetNames()
	for i, in := range c.Instances {
		field := fmt.Sprintf("instances[%d]", i)
		if _, ok := cloud.BuiltinInstanceType(in.Type); !ok {
			return fmt.Errorf("config: %s.type: %q is not a known instance type (known: %v)",
				field, in.Type, cloud.BuiltinInstanceTypeNames())
		}
		if !names[in.Subnet] {
			return fmt.Errorf("config: %s.subnet: %q names no subnet of the config", field, in.Subnet)
		}
		if in.PrimaryIP != "" {
			if a, err := netip.ParseAddr(in.PrimaryIP); err != nil || !a.Is4() {
				return fmt.Errorf("config: %s.primaryIp: %q is not an IPv4 address", field, in.PrimaryIP)
			}
		}
	}
	return nil
}

func validateFaults(faults []Fault) error {
	for i, f := range faults {
		field := fmt.Sprintf("config: faults[%d]", i)
		switch {
		case f.Action == "":
			return fmt.Errorf("%s.action: required (an action name or \"*\")", field)
		case f.Drop && (f.Code != "" || f.Message != "" || f.Status != 0):
			return fmt.Errorf("%s.drop: a dropped connection has no code, message or status", field)
		case f.Code == "" && !f.Drop:
			return fmt.Errorf("%s.code: required (or \"drop\": true)", field)
		case f.Probability < 0 || f.Probability > 1:
			return fmt.Errorf("%s.probability: %v is not between 0 and 1", field, f.Probability)
		case f.Count < 0:
			return fmt.Errorf("%s.count: %d is negative", field, f.Count)
		case f.Status != 0 && (f.Status < 400 || f.Status > 599):
			return fmt.Errorf("%s.status: %d is not an HTTP error status", field, f.Status)
		}
	}
	return nil
}

func (v VPCConfig) validate(field string) error {
	if p, err := netip.ParsePrefix(v.CIDR); err != nil || !p.Addr().Is4() {
		return fmt.Errorf("config: %s.cidr: %q is not an IPv4 CIDR block", field, v.CIDR)
	}
	for j, s := range v.Subnets {
		if p, err := netip.ParsePrefix(s.CIDR); err != nil || !p.Addr().Is4() {
			return fmt.Errorf("config: %s.subnets[%d].cidr: %q is not an IPv4 CIDR block", field, j, s.CIDR)
		}
	}
	return nil
}

// subnetNames is every name and CIDR instances may use to name a subnet.
func (c Config) subnetNames() map[string]bool {
	names := map[string]bool{}
	for _, v := range c.VPCs {
		for _, s := range v.Subnets {
			names[s.CIDR] = true
			if s.Name != "" {
				names[s.Name] = true
			}
		}
	}
	return names
}

func isDigits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// tagList turns a tag map into tags ordered by key.
func tagList(m map[string]string) []Tag {
	var out []Tag
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, Tag{Key: k, Value: m[k]})
	}
	return out
}
