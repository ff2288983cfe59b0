package sim

import (
	"context"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Small client-side views of EC2's answers, decoded with encoding/xml as a
// client would: only the element names matter.

type wENI struct {
	ID          string `xml:"networkInterfaceId"`
	SubnetID    string `xml:"subnetId"`
	VpcID       string `xml:"vpcId"`
	AZ          string `xml:"availabilityZone"`
	Description string `xml:"description"`
	OwnerID     string `xml:"ownerId"`
	Requester   string `xml:"requesterManaged"`
	Status      string `xml:"status"`
	MAC         string `xml:"macAddress"`
	PrivateIP   string `xml:"privateIpAddress"`
	PrivateDNS  string `xml:"privateDnsName"`
	SrcDst      string `xml:"sourceDestCheck"`
	Type        string `xml:"interfaceType"`
	Groups      []struct {
		ID string `xml:"groupId"`
	} `xml:"groupSet>item"`
	IPs []struct {
		IP      string `xml:"privateIpAddress"`
		Primary bool   `xml:"primary"`
	} `xml:"privateIpAddressesSet>item"`
	Prefixes []string `xml:"ipv4PrefixSet>item>ipv4Prefix"`
	Tags     []struct {
		Key   string `xml:"key"`
		Value string `xml:"value"`
	} `xml:"tagSet>item"`
	Attachment *struct {
		ID         string `xml:"attachmentId"`
		InstanceID string `xml:"instanceId"`
		Device     int    `xml:"deviceIndex"`
		Card       int    `xml:"networkCardIndex"`
		Status     string `xml:"status"`
		DoT        bool   `xml:"deleteOnTermination"`
		Time       string `xml:"attachTime"`
	} `xml:"attachment"`
}

type wDescribeENIs struct {
	XMLName   xml.Name `xml:"http://ec2.amazonaws.com/doc/2016-11-15/ DescribeNetworkInterfacesResponse"`
	RequestID string   `xml:"requestId"`
	ENIs      []wENI   `xml:"networkInterfaceSet>item"`
	NextToken string   `xml:"nextToken"`
}

type wCreateENI struct {
	XMLName xml.Name `xml:"CreateNetworkInterfaceResponse"`
	ENI     wENI     `xml:"networkInterface"`
}

type wInstance struct {
	ID        string `xml:"instanceId"`
	Type      string `xml:"instanceType"`
	State     string `xml:"instanceState>name"`
	Code      int    `xml:"instanceState>code"`
	AZ        string `xml:"placement>availabilityZone"`
	SubnetID  string `xml:"subnetId"`
	VpcID     string `xml:"vpcId"`
	PrivateIP string `xml:"privateIpAddress"`
	DNS       string `xml:"privateDnsName"`
	ENIs      []wENI `xml:"networkInterfaceSet>item"`
}

type wDescribeInstances struct {
	XMLName      xml.Name `xml:"DescribeInstancesResponse"`
	Reservations []struct {
		ID        string      `xml:"reservationId"`
		OwnerID   string      `xml:"ownerId"`
		Instances []wInstance `xml:"instancesSet>item"`
	} `xml:"reservationSet>item"`
	NextToken string `xml:"nextToken"`
}

// wireDefaults returns the default world's instance and subnet.
func wireDefaults(t *testing.T, h http.Handler) wInstance {
	t.Helper()
	var d wDescribeInstances
	wireOK(t, h, &d, "DescribeInstances")
	if len(d.Reservations) != 1 || len(d.Reservations[0].Instances) != 1 {
		t.Fatalf("default world: %+v", d)
	}
	return d.Reservations[0].Instances[0]
}

func TestEC2DescribeInstancesShape(t *testing.T) {
	h := wireServer(t, wireConfig(newWireClock())).EC2Handler()
	rec := wireCall(t, h, "DescribeInstances")
	body := rec.Body.String()
	if !strings.HasPrefix(body, `<?xml version="1.0" encoding="UTF-8"?>`) ||
		!strings.Contains(body, `<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">`) ||
		rec.Header().Get("Content-Type") != "text/xml;charset=UTF-8" {
		t.Fatalf("envelope:\n%s", body)
	}
	in := wireDefaults(t, h)
	if in.Type != "m5.large" || in.State != "running" || in.Code != 16 || in.AZ != "us-west-2a" ||
		in.PrivateIP != "198.18.0.10" || in.DNS != "ip-198-18-0-10.us-west-2.compute.internal" ||
		!strings.HasPrefix(in.SubnetID, "subnet-") || !strings.HasPrefix(in.VpcID, "vpc-") {
		t.Fatalf("instance: %+v", in)
	}
	if len(in.ENIs) != 1 || in.ENIs[0].Attachment == nil || in.ENIs[0].Attachment.Device != 0 ||
		!in.ENIs[0].Attachment.DoT || in.ENIs[0].PrivateIP != "198.18.0.10" || in.ENIs[0].MAC == "" {
		t.Fatalf("primary ENI: %+v", in.ENIs)
	}
	wireFail(t, h, 400, "InvalidInstanceID.NotFound", "DescribeInstances", "InstanceId.1", "i-0123456789abcdef0")
	wireFail(t, h, 400, "InvalidParameterCombination", "DescribeInstances", "InstanceId.1", in.ID, "MaxResults", "5")
}

func TestEC2DescribeInstanceTypesShape(t *testing.T) {
	h := wireServer(t, wireConfig(nil)).EC2Handler()
	var d struct {
		Types []struct {
			Type       string `xml:"instanceType"`
			Hypervisor string `xml:"hypervisor"`
			BareMetal  bool   `xml:"bareMetal"`
			VCPUs      int    `xml:"vCpuInfo>defaultVCpus"`
			Mem        int    `xml:"memoryInfo>sizeInMiB"`
			Arch       string `xml:"processorInfo>supportedArchitectures>item"`
			Net        struct {
				MaxENIs int `xml:"maximumNetworkInterfaces"`
				IPv4    int `xml:"ipv4AddressesPerInterface"`
				IPv6    int `xml:"ipv6AddressesPerInterface"`
				Cards   int `xml:"maximumNetworkCards"`
				Default int `xml:"defaultNetworkCardIndex"`
				List    []struct {
					Index int `xml:"networkCardIndex"`
					Max   int `xml:"maximumNetworkInterfaces"`
				} `xml:"networkCards>item"`
			} `xml:"networkInfo"`
		} `xml:"instanceTypeSet>item"`
	}
	wireOK(t, h, &d, "DescribeInstanceTypes", "InstanceType.1", "m5.large")
	if len(d.Types) != 1 {
		t.Fatalf("types: %+v", d)
	}
	m5 := d.Types[0]
	if m5.Type != "m5.large" || m5.Hypervisor != "nitro" || m5.BareMetal || m5.VCPUs != 2 || m5.Mem != 8192 ||
		m5.Arch != "x86_64" || m5.Net.MaxENIs != 3 || m5.Net.IPv4 != 10 || m5.Net.IPv6 != 10 || m5.Net.Cards != 1 ||
		len(m5.Net.List) != 1 || m5.Net.List[0].Max != 3 {
		t.Fatalf("m5.large: %+v", m5)
	}
	wireFail(t, h, 400, "InvalidInstanceType", "DescribeInstanceTypes", "InstanceType.1", "m5.nonesuch")
	wireFail(t, h, 400, "InvalidParameterValue", "DescribeInstanceTypes", "MaxResults", "101")
}

func TestEC2SubnetsAndVpcsShape(t *testing.T) {
	h := wireServer(t, wireConfig(nil)).EC2Handler()
	var subnets struct {
		Items []struct {
			ID        string `xml:"subnetId"`
			VpcID     string `xml:"vpcId"`
			CIDR      string `xml:"cidrBlock"`
			Available int    `xml:"availableIpAddressCount"`
			AZ        string `xml:"availabilityZone"`
			State     string `xml:"state"`
			Owner     string `xml:"ownerId"`
			Tag       string `xml:"tagSet>item>value"`
		} `xml:"subnetSet>item"`
	}
	wireOK(t, h, &subnets, "DescribeSubnets")
	if len(subnets.Items) != 1 {
		t.Fatalf("subnets: %+v", subnets)
	}
	s := subnets.Items[0]
	// /20: 4096 addresses, 5 reserved, 1 for the default instance.
	if s.CIDR != "198.18.0.0/20" || s.Available != 4090 || s.AZ != "us-west-2a" || s.State != "available" ||
		s.Owner != "123456789012" || s.Tag != "ec2sim-a" {
		t.Fatalf("subnet: %+v", s)
	}
	var vpcs struct {
		Items []struct {
			ID    string   `xml:"vpcId"`
			CIDR  string   `xml:"cidrBlock"`
			CIDRs []string `xml:"cidrBlockAssociationSet>item>cidrBlock"`
			State string   `xml:"state"`
		} `xml:"vpcSet>item"`
	}
	wireOK(t, h, &vpcs, "DescribeVpcs", "VpcId.1", s.VpcID)
	if len(vpcs.Items) != 1 || vpcs.Items[0].CIDR != "198.18.0.0/16" || len(vpcs.Items[0].CIDRs) != 1 || vpcs.Items[0].State != "available" {
		t.Fatalf("vpcs: %+v", vpcs)
	}
}

func TestEC2ENILifecycle(t *testing.T) {
	h := wireServer(t, wireConfig(newWireClock())).EC2Handler()
	inst := wireDefaults(t, h)

	var created wCreateENI
	wireOK(t, h, &created, "CreateNetworkInterface", "SubnetId", inst.SubnetID, "Description", "test eni",
		"SecondaryPrivateIpAddressCount", "2", "TagSpecification.1.ResourceType", "network-interface",
		"TagSpecification.1.Tag.1.Key", "owner", "TagSpecification.1.Tag.1.Value", "wire")
	e := created.ENI
	if !strings.HasPrefix(e.ID, "eni-") || e.Status != "available" || e.Description != "test eni" || len(e.IPs) != 3 ||
		!e.IPs[0].Primary || e.IPs[1].Primary || e.IPs[0].IP != e.PrivateIP || e.Requester != "false" ||
		e.Type != "interface" || e.OwnerID != "123456789012" || e.AZ != "us-west-2a" || e.SrcDst != "true" ||
		len(e.Tags) != 1 || e.Tags[0].Key != "owner" || e.Tags[0].Value != "wire" ||
		!strings.HasPrefix(e.PrivateDNS, "ip-198-18-") || e.Attachment != nil || len(e.Groups) == 0 {
		t.Fatalf("created: %+v", e)
	}

	var att struct {
		ID   string `xml:"attachmentId"`
		Card int    `xml:"networkCardIndex"`
	}
	wireOK(t, h, &att, "AttachNetworkInterface", "NetworkInterfaceId", e.ID, "InstanceId", inst.ID, "DeviceIndex", "1")
	if !strings.HasPrefix(att.ID, "eni-attach-") || att.Card != 0 {
		t.Fatalf("attach: %+v", att)
	}

	var assigned struct {
		ENI      string   `xml:"networkInterfaceId"`
		IPs      []string `xml:"assignedPrivateIpAddressesSet>item>privateIpAddress"`
		Prefixes []string `xml:"assignedIpv4PrefixSet>item>ipv4Prefix"`
	}
	wireOK(t, h, &assigned, "AssignPrivateIpAddresses", "NetworkInterfaceId", e.ID, "SecondaryPrivateIpAddressCount", "2")
	if assigned.ENI != e.ID || len(assigned.IPs) != 2 || len(assigned.Prefixes) != 0 {
		t.Fatalf("assign addresses: %+v", assigned)
	}
	ips := assigned.IPs
	assigned.IPs = nil
	wireOK(t, h, &assigned, "AssignPrivateIpAddresses", "NetworkInterfaceId", e.ID, "Ipv4PrefixCount", "1")
	if len(assigned.Prefixes) != 1 || !strings.HasSuffix(assigned.Prefixes[0], "/28") {
		t.Fatalf("assign prefix: %+v", assigned)
	}

	var d wDescribeENIs
	wireOK(t, h, &d, "DescribeNetworkInterfaces", "Filter.1.Name", "attachment.instance-id", "Filter.1.Value.1", inst.ID,
		"Filter.2.Name", "tag:owner", "Filter.2.Value.1", "wi*")
	if len(d.ENIs) != 1 || d.ENIs[0].ID != e.ID || len(d.ENIs[0].IPs) != 5 || len(d.ENIs[0].Prefixes) != 1 ||
		d.ENIs[0].Attachment == nil || d.ENIs[0].Attachment.ID != att.ID || d.ENIs[0].Attachment.InstanceID != inst.ID ||
		d.ENIs[0].Attachment.Device != 1 || d.ENIs[0].Attachment.Time == "" || d.ENIs[0].Status != "in-use" {
		t.Fatalf("describe: %+v", d.ENIs)
	}

	wireFail(t, h, 400, "InvalidNetworkInterface.InUse", "DeleteNetworkInterface", "NetworkInterfaceId", e.ID)
	wireOK(t, h, nil, "ModifyNetworkInterfaceAttribute", "NetworkInterfaceId", e.ID,
		"Attachment.AttachmentId", att.ID, "Attachment.DeleteOnTermination", "true")
	wireOK(t, h, nil, "ModifyNetworkInterfaceAttribute", "NetworkInterfaceId", e.ID, "Description.Value", "renamed")
	wireOK(t, h, nil, "UnassignPrivateIpAddresses", "NetworkInterfaceId", e.ID,
		"PrivateIpAddress.1", ips[0], "PrivateIpAddress.2", ips[1], "Ipv4Prefix.1", assigned.Prefixes[0])
	wireOK(t, h, nil, "CreateTags", "ResourceId.1", e.ID, "Tag.1.Key", "k", "Tag.1.Value", "v")
	wireOK(t, h, nil, "DeleteTags", "ResourceId.1", e.ID, "Tag.1.Key", "owner")

	var after wDescribeENIs
	wireOK(t, h, &after, "DescribeNetworkInterfaces", "NetworkInterfaceId.1", e.ID)
	got := after.ENIs[0]
	if len(got.IPs) != 3 || len(got.Prefixes) != 0 || got.Description != "renamed" || !got.Attachment.DoT ||
		len(got.Tags) != 1 || got.Tags[0].Key != "k" {
		t.Fatalf("after modify, unassign and tags: %+v", got)
	}

	rec := wireCall(t, h, "DetachNetworkInterface", "AttachmentId", att.ID)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "<return>true</return>") {
		t.Fatalf("detach: %d %s", rec.Code, rec.Body.String())
	}
	wireOK(t, h, nil, "DeleteNetworkInterface", "NetworkInterfaceId", e.ID)
	wireFail(t, h, 400, "InvalidNetworkInterfaceID.NotFound", "DescribeNetworkInterfaces", "NetworkInterfaceId.1", e.ID)
}

func TestEC2ModifyAndTagArguments(t *testing.T) {
	h := wireServer(t, wireConfig(nil)).EC2Handler()
	inst := wireDefaults(t, h)
	eni := inst.ENIs[0].ID
	wireFail(t, h, 400, "InvalidParameterCombination", "ModifyNetworkInterfaceAttribute", "NetworkInterfaceId", eni)
	wireFail(t, h, 400, "InvalidParameterCombination", "ModifyNetworkInterfaceAttribute", "NetworkInterfaceId", eni,
		"Description.Value", "x", "Attachment.DeleteOnTermination", "true")
	wireFail(t, h, 400, "MissingParameter", "ModifyNetworkInterfaceAttribute", "NetworkInterfaceId", eni,
		"Attachment.DeleteOnTermination", "true")
	wireFail(t, h, 400, "UnsupportedOperation", "ModifyNetworkInterfaceAttribute", "NetworkInterfaceId", eni,
		"SourceDestCheck.Value", "false")
	wireFail(t, h, 400, "MissingParameter", "CreateTags", "ResourceId.1", eni, "Tag.1.Value", "v")
	wireFail(t, h, 400, "InvalidParameterValue", "CreateNetworkInterface", "SubnetId", inst.SubnetID,
		"TagSpecification.1.ResourceType", "instance", "TagSpecification.1.Tag.1.Key", "k")
	msg := wireFail(t, h, 400, "InvalidGroup.NotFound", "CreateNetworkInterface", "SubnetId", inst.SubnetID,
		"SecurityGroupId.1", "sg-0123456789abcdef0")
	if !strings.HasPrefix(msg, "The security group 'sg-0123456789abcdef0' does not exist in VPC 'vpc-") {
		t.Fatalf("unknown group: %q", msg)
	}
	wireFail(t, h, 400, "InvalidParameterCombination", "CreateNetworkInterface", "SubnetId", inst.SubnetID,
		"PrivateIpAddress", "198.18.1.1", "PrivateIpAddresses.1.PrivateIpAddress", "198.18.1.2",
		"PrivateIpAddresses.1.Primary", "true")
}

func TestEC2DryRun(t *testing.T) {
	s := wireServer(t, wireConfig(nil))
	h := s.EC2Handler()
	inst := wireDefaults(t, h)
	msg := wireFail(t, h, http.StatusPreconditionFailed, "DryRunOperation", "CreateNetworkInterface",
		"SubnetId", inst.SubnetID, "DryRun", "true")
	if msg != "Request would have succeeded, but DryRun flag is set." {
		t.Fatalf("dry run message %q", msg)
	}
	wireFail(t, h, http.StatusPreconditionFailed, "DryRunOperation", "DescribeVpcs", "DryRun", "TRUE")
	wireOK(t, h, nil, "DescribeVpcs", "DryRun", "false")
	if n := len(s.World().Snapshot().ENIs); n != 1 {
		t.Fatalf("a dry run created something: %d ENIs", n)
	}
}

func TestEC2Pagination(t *testing.T) {
	h := wireServer(t, wireConfig(nil)).EC2Handler()
	inst := wireDefaults(t, h)
	for range 11 {
		wireOK(t, h, nil, "CreateNetworkInterface", "SubnetId", inst.SubnetID)
	}
	seen := map[string]bool{}
	token, pages := "", 0
	for {
		params := []string{"MaxResults", "5"}
		if token != "" {
			params = append(params, "NextToken", token)
		}
		var d wDescribeENIs
		wireOK(t, h, &d, "DescribeNetworkInterfaces", params...)
		pages++
		for _, e := range d.ENIs {
			if seen[e.ID] {
				t.Fatalf("page %d repeats %s", pages, e.ID)
			}
			seen[e.ID] = true
		}
		if d.NextToken == "" {
			break
		}
		if len(d.ENIs) != 5 || pages > 5 {
			t.Fatalf("page %d: %d items, token %q", pages, len(d.ENIs), d.NextToken)
		}
		token = d.NextToken
	}
	if len(seen) != 12 || pages != 3 {
		t.Fatalf("paged %d ENIs in %d pages, want 12 in 3", len(seen), pages)
	}

	wireFail(t, h, 400, "InvalidParameterValue", "DescribeNetworkInterfaces", "MaxResults", "4")
	wireFail(t, h, 400, "InvalidParameterValue", "DescribeNetworkInterfaces", "MaxResults", "1001")
	wireFail(t, h, 400, "InvalidParameterValue", "DescribeNetworkInterfaces", "NextToken", "garbage")
	wireFail(t, h, 400, "InvalidParameterValue", "DescribeNetworkInterfaces", "NextToken", token+"x")
	wireFail(t, h, 400, "InvalidParameterCombination", "DescribeNetworkInterfaces",
		"MaxResults", "5", "NetworkInterfaceId.1", inst.ENIs[0].ID)
	// A token is only good for the action that made it.
	wireFail(t, h, 400, "InvalidParameterValue", "DescribeSubnets", "NextToken", token)
	for _, a := range []string{"DescribeSubnets", "DescribeVpcs", "DescribeInstances"} {
		wireFail(t, h, 400, "InvalidParameterValue", a, "MaxResults", "1001")
		wireOK(t, h, nil, a, "MaxResults", "5")
	}
}

// TestEC2NextTokenBoundToParameters checks a NextToken is good only with
// the parameters of the request that made it (MaxResults aside), as EC2's.
func TestEC2NextTokenBoundToParameters(t *testing.T) {
	h := wireServer(t, wireConfig(nil)).EC2Handler()
	inst := wireDefaults(t, h)
	for range 7 {
		wireOK(t, h, nil, "CreateNetworkInterface", "SubnetId", inst.SubnetID, "Description", "pod")
	}
	filter := []string{"Filter.1.Name", "description", "Filter.1.Value.1", "pod"}
	var first wDescribeENIs
	wireOK(t, h, &first, "DescribeNetworkInterfaces", append([]string{"MaxResults", "5"}, filter...)...)
	if len(first.ENIs) != 5 || first.NextToken == "" {
		t.Fatalf("first page: %d ENIs, token %q", len(first.ENIs), first.NextToken)
	}
	var rest wDescribeENIs
	wireOK(t, h, &rest, "DescribeNetworkInterfaces", append([]string{"MaxResults", "6", "NextToken", first.NextToken}, filter...)...)
	if len(rest.ENIs) != 2 || rest.NextToken != "" {
		t.Fatalf("second page: %d ENIs, token %q", len(rest.ENIs), rest.NextToken)
	}
	for _, params := range [][]string{
		{"NextToken", first.NextToken},
		{"NextToken", first.NextToken, "Filter.1.Name", "description", "Filter.1.Value.1", "po*"},
		append([]string{"NextToken", first.NextToken, "Filter.2.Name", "status", "Filter.2.Value.1", "available"}, filter...),
		append([]string{"NextToken", first.NextToken, "IncludeManagedResources", "true"}, filter...),
	} {
		wireFail(t, h, 400, "InvalidParameterValue", "DescribeNetworkInterfaces", params...)
	}
}

func TestEC2InstanceTypesPageAt100(t *testing.T) {
	keys := make([]string, 250)
	for i := range keys {
		keys[i] = "t" + strconv.Itoa(1000+i)
	}
	a := &ec2API{pages: newPageTokens()}
	q := &query{action: "DescribeInstanceTypes", root: &qNode{}}
	start, end, next, perr := a.page(q, pageInstanceTypes, keys)
	if perr != nil || start != 0 || end != 100 || next == "" {
		t.Fatalf("first page: %d..%d next %q err %v", start, end, next, perr)
	}
	q.root.insert([]string{"NextToken"}, "NextToken", next)
	start, end, _, _ = a.page(q, pageInstanceTypes, keys)
	if start != 100 || end != 200 {
		t.Fatalf("second page: %d..%d", start, end)
	}
}

func TestEC2KnobsApply(t *testing.T) {
	s := wireServer(t, wireConfig(nil))
	h := s.EC2Handler()
	s.Knobs().AddFault(Fault{Action: "DescribeVpcs", Code: "Unavailable", Probability: 1, Count: 1})
	wireFail(t, h, 500, "Unavailable", "DescribeVpcs")
	wireOK(t, h, nil, "DescribeVpcs")

	s.Knobs().SetThrottle(ThrottleConfig{Enabled: true, NonMutating: Bucket{Size: 1}})
	wireOK(t, h, nil, "DescribeSubnets")
	wireFail(t, h, 503, "RequestLimitExceeded", "DescribeSubnets")
	s.Knobs().SetThrottle(ThrottleConfig{})

	wireFail(t, h, 400, "MissingParameter", "DeleteNetworkInterface")
	st := s.Knobs().Stats()
	if st.Calls["DescribeVpcs"] != 2 || st.Throttled["DescribeSubnets"] != 1 ||
		st.Errors["DeleteNetworkInterface"]["MissingParameter"] != 1 {
		t.Fatalf("stats: %+v", st)
	}

	// Latency honours the request's context: a cancelled caller gets no
	// answer and the handler returns.
	s.Knobs().SetLatency("DescribeVpcs", time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequest(http.MethodGet, "/?Action=DescribeVpcs&Version=2016-11-15", nil).WithContext(ctx)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Body.Len() != 0 {
		t.Fatalf("answered a cancelled request: %s", rec.Body.String())
	}
}

// TestEC2ConcurrentRequests runs the handler from many goroutines under
// the race detector: every answer is a success or a well-formed error.
func TestEC2ConcurrentRequests(t *testing.T) {
	s := wireServer(t, wireConfig(nil))
	h := s.EC2Handler()
	inst := wireDefaults(t, h)
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				var rec *httptest.ResponseRecorder
				switch (g + i) % 3 {
				case 0:
					rec = wireCall(t, h, "CreateNetworkInterface", "SubnetId", inst.SubnetID, "SecondaryPrivateIpAddressCount", "1")
				case 1:
					rec = wireCall(t, h, "DescribeNetworkInterfaces", "MaxResults", "5")
				default:
					rec = wireCall(t, h, "AssignPrivateIpAddresses", "NetworkInterfaceId", inst.ENIs[0].ID, "SecondaryPrivateIpAddressCount", "1")
				}
				if rec.Code != http.StatusOK && !strings.Contains(rec.Body.String(), "PrivateIpAddressLimitExceeded") {
					errs <- rec.Body.String()
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("concurrent request failed: %s", e)
	}
}
