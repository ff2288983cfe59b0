package sim

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// wireParse runs the parser alone over raw form text.
func wireParse(t *testing.T, raw string) (*query, *APIError) {
	t.Helper()
	vals, err := url.ParseQuery(raw)
	if err != nil {
		t.Fatalf("bad test input %q: %v", raw, err)
	}
	action, version, perr := actionOf(vals, ec2Specs)
	if perr != nil {
		return nil, perr
	}
	return parseQuery(action, version, vals, ec2Specs[action])
}

func TestQueryParsesListsFiltersAndTags(t *testing.T) {
	q, perr := wireParse(t, "Action=DescribeNetworkInterfaces&Version=2016-11-15"+
		"&NetworkInterfaceId.2=eni-b&NetworkInterfaceId.1=eni-a&NetworkInterfaceId.10=eni-c"+
		"&Filter.1.Name=tag%3Aowner&Filter.1.Value.1=x&Filter.1.Value.2=y%20z"+
		"&Filter.2.Name=status&Filter.2.Value.1=available")
	if perr != nil {
		t.Fatalf("parse: %v", perr)
	}
	if got := q.strs("NetworkInterfaceId"); !slices.Equal(got, []string{"eni-a", "eni-b", "eni-c"}) {
		t.Fatalf("ids in index order: got %v", got)
	}
	fs, perr := q.filters()
	if perr != nil {
		t.Fatal(perr)
	}
	want := []Filter{{Name: "tag:owner", Values: []string{"x", "y z"}}, {Name: "status", Values: []string{"available"}}}
	if len(fs) != 2 || fs[0].Name != want[0].Name || !slices.Equal(fs[0].Values, want[0].Values) ||
		fs[1].Name != want[1].Name || !slices.Equal(fs[1].Values, want[1].Values) {
		t.Fatalf("filters: got %+v, want %+v", fs, want)
	}

	q, perr = wireParse(t, "Action=CreateNetworkInterface&Version=2016-11-15&SubnetId=subnet-1"+
		"&TagSpecification.1.ResourceType=network-interface&TagSpecification.1.Tag.1.Key=a"+
		"&TagSpecification.1.Tag.1.Value=1&TagSpecification.1.Tag.2.Key=b"+
		"&PrivateIpAddresses.1.PrivateIpAddress=10.0.0.5&PrivateIpAddresses.2.PrivateIpAddress=10.0.0.6"+
		"&PrivateIpAddresses.2.Primary=true&Ipv4Prefix.1.Ipv4Prefix=10.0.1.0%2F28&SecurityGroupId.1=sg-1")
	if perr != nil {
		t.Fatalf("parse: %v", perr)
	}
	in, perr := createENIInput(q)
	if perr != nil {
		t.Fatal(perr)
	}
	if in.PrimaryIP != netip.MustParseAddr("10.0.0.6") || !slices.Equal(in.PrivateIPs, []netip.Addr{netip.MustParseAddr("10.0.0.5")}) {
		t.Fatalf("addresses: primary %v, secondaries %v", in.PrimaryIP, in.PrivateIPs)
	}
	if !slices.Equal(in.Tags, []Tag{{"a", "1"}, {"b", ""}}) || !slices.Equal(in.SecurityGroups, []string{"sg-1"}) ||
		!slices.Equal(in.Prefixes, []netip.Prefix{netip.MustParsePrefix("10.0.1.0/28")}) {
		t.Fatalf("create input: %+v", in)
	}
}

func TestQueryRejects(t *testing.T) {
	const v = "Version=2016-11-15&"
	cases := []struct {
		name, raw, code, inMsg string
	}{
		{"no action", v + "Foo=1", "InvalidAction", ""},
		{"unknown action", v + "Action=RunInstances", "InvalidAction", "RunInstances"},
		{"no version", "Action=DescribeVpcs", "MissingParameter", "Version"},
		{"unknown parameter", v + "Action=DescribeVpcs&Bogus=1", "UnknownParameter", "The parameter Bogus is not recognized"},
		{"unknown member", v + "Action=DescribeVpcs&Filter.1.Nam=x", "UnknownParameter", "Filter.1.Nam"},
		{"index zero", v + "Action=DescribeVpcs&VpcId.0=vpc-1", "UnknownParameter", "VpcId.0"},
		{"leading zero", v + "Action=DescribeVpcs&VpcId.01=vpc-1", "UnknownParameter", "VpcId.01"},
		{"list without index", v + "Action=DescribeVpcs&VpcId=vpc-1", "UnknownParameter", "VpcId"},
		{"empty segment", v + "Action=DescribeVpcs&VpcId..1=x", "UnknownParameter", ""},
		{"struct as list", v + "Action=DescribeVpcs&Filter.x.Name=a", "UnknownParameter", "Filter.x.Name"},
		{"not an int", v + "Action=DescribeVpcs&MaxResults=ten", "InvalidParameterValue", "MaxResults"},
		{"negative int", v + "Action=DescribeVpcs&MaxResults=-5", "InvalidParameterValue", "MaxResults"},
		{"int overflow", v + "Action=DescribeVpcs&MaxResults=99999999999", "InvalidParameterValue", "MaxResults"},
		{"not a bool", v + "Action=DescribeVpcs&DryRun=yes", "InvalidParameterValue", "DryRun"},
		{"not an address", v + "Action=AssignPrivateIpAddresses&NetworkInterfaceId=eni-1&PrivateIpAddress.1=10.0.0.300",
			"InvalidParameterValue", "PrivateIpAddress.1"},
		{"IPv6 address", v + "Action=AssignPrivateIpAddresses&NetworkInterfaceId=eni-1&PrivateIpAddress.1=::1",
			"InvalidParameterValue", "PrivateIpAddress.1"},
		{"not a prefix", v + "Action=AssignPrivateIpAddresses&NetworkInterfaceId=eni-1&Ipv4Prefix.1=10.0.0.0",
			"InvalidParameterValue", "Ipv4Prefix.1"},
		{"host bits", v + "Action=AssignPrivateIpAddresses&NetworkInterfaceId=eni-1&Ipv4Prefix.1=10.0.0.1/28",
			"InvalidParameterValue", "Ipv4Prefix.1"},
		{"missing required", v + "Action=DeleteNetworkInterface", "MissingParameter", "NetworkInterfaceId"},
		{"empty required", v + "Action=DeleteNetworkInterface&NetworkInterfaceId=", "MissingParameter", "NetworkInterfaceId"},
		{"missing list", v + "Action=CreateTags&Tag.1.Key=a", "MissingParameter", "ResourceId"},
		{"empty list", v + "Action=CreateTags&ResourceId=&Tag.1.Key=a", "MissingParameter", "ResourceId"},
		{"repeated", v + "Action=DescribeVpcs&VpcId.1=a&VpcId.1=b", "InvalidParameterValue", "VpcId.1"},
		{"no DryRun on assign", v + "Action=AssignPrivateIpAddresses&NetworkInterfaceId=eni-1&DryRun=true",
			"UnknownParameter", "DryRun"},
		{"unsupported", v + "Action=CreateNetworkInterface&SubnetId=s&Ipv6AddressCount=1", "UnsupportedOperation", "Ipv6AddressCount"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, perr := wireParse(t, c.raw)
			if perr == nil {
				t.Fatalf("%s: parsed, want %s", c.raw, c.code)
			}
			if perr.Code != c.code || perr.Status != http.StatusBadRequest || !strings.Contains(perr.Message, c.inMsg) {
				t.Fatalf("%s: got %d %s %q, want 400 %s mentioning %q", c.raw, perr.Status, perr.Code, perr.Message, c.code, c.inMsg)
			}
		})
	}
}

func TestQueryEmptyListAndProtocolParams(t *testing.T) {
	q, perr := wireParse(t, "Action=DescribeVpcs&Version=2016-11-15&VpcId=&Filter.1.Name=a&Filter.1.Value="+
		"&X-Amz-Date=20260101T000000Z&X-Amz-Algorithm=AWS4-HMAC-SHA256")
	if perr != nil {
		t.Fatalf("parse: %v", perr)
	}
	fs, _ := q.filters()
	if len(q.strs("VpcId")) != 0 || len(fs) != 1 || len(fs[0].Values) != 0 {
		t.Fatalf("empty lists: ids %v filters %+v", q.strs("VpcId"), fs)
	}
}

func TestQueryGETAndMalformedBodies(t *testing.T) {
	s := wireServer(t, wireConfig(nil))
	h := s.EC2Handler()

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/?Action=DescribeVpcs&Version=2016-11-15", nil))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "<vpcSet>") {
		t.Fatalf("GET: %d\n%s", rec.Code, rec.Body.String())
	}

	bad := []struct {
		method, target, body string
		status               int
		code                 string
	}{
		{http.MethodPost, "/", "Action=DescribeVpcs&Version=2016-11-15&%zz", 400, "MalformedQueryString"},
		{http.MethodPost, "/?%", "Action=DescribeVpcs", 400, "MalformedQueryString"},
		{http.MethodPost, "/", strings.Repeat("a", maxQueryBody+1), 413, "InvalidRequest"},
		{http.MethodPut, "/", "", 405, "UnsupportedProtocol"},
		{http.MethodPost, "/", "Action=DescribeVpcs&Action=DescribeSubnets&Version=2016-11-15", 400, "InvalidParameterValue"},
	}
	for _, b := range bad {
		req := httptest.NewRequest(b.method, "/", strings.NewReader(b.body))
		req.URL.RawQuery = strings.TrimPrefix(b.target, "/?")
		if b.target == "/" {
			req.URL.RawQuery = ""
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		wireCheckError(t, rec, b.status, b.code)
	}
}
