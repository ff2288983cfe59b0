package sim

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vpc-cni/vpc-cni/cloud"
)

// imdsRole is the instance profile role every emulated instance has, so
// that the SDK's default credential chain works in the lab.
const imdsRole = "ec2sim-node-role"

const (
	metaPrefix = "/latest/meta-data/"
	dynPrefix  = "/latest/dynamic/"
)

// serveMetadata answers a GET under /latest/: a leaf's value, or a
// directory's listing (one child a line, subdirectories with a trailing
// slash), or 404.
func (s *imdsServer) serveMetadata(w http.ResponseWriter, r *http.Request, ip netip.Addr) {
	in, ok := s.instanceFor(ip)
	if !ok {
		imdsText(w, http.StatusNotFound, "")
		return
	}
	view, err := s.world.IMDSView(in.ID)
	if err != nil {
		imdsText(w, http.StatusNotFound, "")
		return
	}
	tree := s.tree(view, in)
	p := r.URL.Path
	if v, ok := tree[p]; ok {
		imdsText(w, http.StatusOK, v)
		return
	}
	if listing, ok := imdsListing(tree, strings.TrimSuffix(p, "/")+"/"); ok {
		imdsText(w, http.StatusOK, listing)
		return
	}
	imdsText(w, http.StatusNotFound, "")
}

// imdsListing lists a directory's children in the tree.
func imdsListing(tree map[string]string, dir string) (string, bool) {
	seen := map[string]bool{}
	for k := range tree {
		rest, ok := strings.CutPrefix(k, dir)
		if !ok || rest == "" {
			continue
		}
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			rest = rest[:i+1]
		}
		seen[rest] = true
	}
	if len(seen) == 0 {
		return "", false
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(names, "\n"), true
}

// tree is every leaf path of an instance's metadata and its value.
func (s *imdsServer) tree(v IMDSView, in Instance) map[string]string {
	host := imdsHostname(v.PrimaryIP, v.Region)
	t := map[string]string{
		"instance-id":                          v.InstanceID,
		"instance-type":                        v.InstanceType,
		"placement/availability-zone":          v.AZ,
		"placement/region":                     v.Region,
		"mac":                                  v.PrimaryMAC,
		"local-ipv4":                           addrString(v.PrimaryIP),
		"local-hostname":                       host,
		"hostname":                             host,
		"services/domain":                      "amazonaws.com",
		"services/partition":                   "aws",
		"iam/info":                             s.iamInfo(v),
		"iam/security-credentials/" + imdsRole: s.credentials(v),
	}
	for _, e := range v.ENIs {
		s.eniTree(t, e, v.Region)
	}
	out := make(map[string]string, len(t)+1)
	for k, val := range t {
		out[metaPrefix+k] = val
	}
	out[dynPrefix+"instance-identity/document"] = s.identityDocument(v, in)
	return out
}

// eniTree adds network/interfaces/macs/<mac>/... for one ENI. ipv4-prefix
// is there only when the ENI has prefixes, as on EC2.
func (s *imdsServer) eniTree(t map[string]string, e IMDSENI, region string) {
	base := "network/interfaces/macs/" + e.MAC + "/"
	ips := make([]string, 0, len(e.LocalIPv4s))
	for _, a := range e.LocalIPv4s {
		ips = append(ips, a.String())
	}
	vpcCIDRs := make([]string, 0, len(e.VPCCIDRs))
	for _, c := range e.VPCCIDRs {
		vpcCIDRs = append(vpcCIDRs, c.String())
	}
	leaves := map[string]string{
		"device-number":          strconv.Itoa(e.DeviceIndex),
		"network-card":           strconv.Itoa(e.NetworkCard),
		"interface-id":           e.ID,
		"mac":                    e.MAC,
		"owner-id":               s.account,
		"local-ipv4s":            strings.Join(ips, "\n"),
		"subnet-id":              e.SubnetID,
		"subnet-ipv4-cidr-block": prefixString(e.SubnetCIDR),
		"vpc-id":                 e.VPCID,
		"vpc-ipv4-cidr-blocks":   strings.Join(vpcCIDRs, "\n"),
		"security-group-ids":     strings.Join(e.SecurityGroups, "\n"),
	}
	if len(vpcCIDRs) > 0 {
		leaves["vpc-ipv4-cidr-block"] = vpcCIDRs[0]
	}
	if len(e.LocalIPv4s) > 0 {
		leaves["local-hostname"] = imdsHostname(e.LocalIPv4s[0], region)
	}
	if len(e.Prefixes) > 0 {
		ps := make([]string, 0, len(e.Prefixes))
		for _, p := range e.Prefixes {
			ps = append(ps, p.String())
		}
		leaves["ipv4-prefix"] = strings.Join(ps, "\n")
	}
	for k, v := range leaves {
		t[base+k] = v
	}
}

func prefixString(p netip.Prefix) string {
	if !p.IsValid() {
		return ""
	}
	return p.String()
}

// imdsHostname is the instance's private DNS name.
func imdsHostname(a netip.Addr, region string) string {
	return xmlView{region: region}.dnsName(a)
}

// iamInfo is iam/info: the instance profile.
func (s *imdsServer) iamInfo(v IMDSView) string {
	return imdsJSON(map[string]string{
		"Code":               "Success",
		"LastUpdated":        s.now().UTC().Format(time.RFC3339),
		"InstanceProfileArn": "arn:aws:iam::" + s.account + ":instance-profile/" + imdsRole,
		"InstanceProfileId":  "AIPA" + strings.ToUpper(imdsHash("profile/" + v.InstanceID)[:17]),
	})
}

// credentials are the role's temporary credentials, as the SDK's
// ec2rolecreds provider reads them. They are fake: ec2sim checks no
// signature.
func (s *imdsServer) credentials(v IMDSView) string {
	now := s.now().UTC()
	h := strings.ToUpper(imdsHash("creds/" + v.InstanceID))
	return imdsJSON(map[string]string{
		"Code":            "Success",
		"LastUpdated":     now.Format(time.RFC3339),
		"Type":            "AWS-HMAC",
		"AccessKeyId":     "ASIA" + h[:16],
		"SecretAccessKey": imdsHash("secret/" + v.InstanceID)[:40],
		"Token":           "ec2sim-session-token-" + imdsHash("token/"+v.InstanceID),
		"Expiration":      now.Add(6 * time.Hour).Truncate(time.Second).Format(time.RFC3339),
	})
}

// identityDocument is /latest/dynamic/instance-identity/document, from
// which the SDK learns the region.
func (s *imdsServer) identityDocument(v IMDSView, in Instance) string {
	return imdsJSON(map[string]any{
		"accountId":               s.account,
		"architecture":            cloud.Architecture(v.InstanceType),
		"availabilityZone":        v.AZ,
		"billingProducts":         nil,
		"devpayProductCodes":      nil,
		"marketplaceProductCodes": nil,
		"imageId":                 "ami-" + imdsHash("ami")[:17],
		"instanceId":              v.InstanceID,
		"instanceType":            v.InstanceType,
		"kernelId":                nil,
		"pendingTime":             in.LaunchTime.UTC().Format(time.RFC3339),
		"privateIp":               addrString(v.PrimaryIP),
		"ramdiskId":               nil,
		"region":                  v.Region,
		"version":                 "2017-09-30",
	})
}

func imdsJSON(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return "{}"
	}
	return string(b)
}

func imdsHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
