package sim

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// fuzzSeeds are EC2 requests as clients send them, with placeholders for
// the ids of the fuzz world ($SUBNET, $INSTANCE, $ENI, $ATTACH).
var fuzzSeeds = []string{
	"Action=DescribeInstances&Version=2016-11-15",
	"Action=DescribeInstances&Version=2016-11-15&InstanceId.1=$INSTANCE&Filter.1.Name=instance-state-name&Filter.1.Value.1=running",
	"Action=DescribeInstanceTypes&Version=2016-11-15&InstanceType.1=m5.large&InstanceType.2=t3.medium",
	"Action=DescribeInstanceTypes&Version=2016-11-15&MaxResults=5&NextToken=abc.def",
	"Action=DescribeSubnets&Version=2016-11-15&SubnetId.1=$SUBNET&Filter.1.Name=vpc-id&Filter.1.Value.1=vpc-1",
	"Action=DescribeVpcs&Version=2016-11-15&MaxResults=5&DryRun=true",
	"Action=DescribeNetworkInterfaces&Version=2016-11-15&Filter.1.Name=attachment.instance-id&Filter.1.Value.1=$INSTANCE&Filter.2.Name=tag%3Ak&Filter.2.Value.1=v*",
	"Action=CreateNetworkInterface&Version=2016-11-15&SubnetId=$SUBNET&SecondaryPrivateIpAddressCount=2&Description=d" +
		"&TagSpecification.1.ResourceType=network-interface&TagSpecification.1.Tag.1.Key=k&TagSpecification.1.Tag.1.Value=v",
	"Action=CreateNetworkInterface&Version=2016-11-15&SubnetId=$SUBNET&PrivateIpAddresses.1.PrivateIpAddress=198.18.2.1" +
		"&PrivateIpAddresses.1.Primary=true&Ipv4Prefix.1.Ipv4Prefix=198.18.3.0%2F28&SecurityGroupId.1=sg-1",
	"Action=CreateNetworkInterface&Version=2016-11-15&SubnetId=$SUBNET&Ipv4PrefixCount=1&PrivateIpAddress=198.18.2.9",
	"Action=AttachNetworkInterface&Version=2016-11-15&NetworkInterfaceId=$ENI&InstanceId=$INSTANCE&DeviceIndex=2&NetworkCardIndex=0",
	"Action=DetachNetworkInterface&Version=2016-11-15&AttachmentId=$ATTACH&Force=true",
	"Action=DeleteNetworkInterface&Version=2016-11-15&NetworkInterfaceId=$ENI",
	"Action=ModifyNetworkInterfaceAttribute&Version=2016-11-15&NetworkInterfaceId=$ENI&Attachment.AttachmentId=$ATTACH&Attachment.DeleteOnTermination=true",
	"Action=ModifyNetworkInterfaceAttribute&Version=2016-11-15&NetworkInterfaceId=$ENI&Description.Value=x",
	"Action=AssignPrivateIpAddresses&Version=2016-11-15&NetworkInterfaceId=$ENI&SecondaryPrivateIpAddressCount=3",
	"Action=AssignPrivateIpAddresses&Version=2016-11-15&NetworkInterfaceId=$ENI&Ipv4Prefix.1=198.18.4.16%2F28&AllowReassignment=true",
	"Action=AssignPrivateIpAddresses&Version=2016-11-15&NetworkInterfaceId=$ENI&PrivateIpAddress.1=198.18.5.5&Ipv4PrefixCount=1",
	"Action=UnassignPrivateIpAddresses&Version=2016-11-15&NetworkInterfaceId=$ENI&PrivateIpAddress.1=198.18.5.5&Ipv4Prefix.1=198.18.4.16%2F28",
	"Action=CreateTags&Version=2016-11-15&ResourceId.1=$ENI&ResourceId.2=$SUBNET&Tag.1.Key=a&Tag.1.Value=b",
	"Action=DeleteTags&Version=2016-11-15&ResourceId.1=$ENI&Tag.1.Key=a&Tag.2.Key=c&Tag.2.Value=",
	"Action=DescribeVpcs&Version=2016-11-15&Filter.100000.Value.99999=x",
	"Action=Nope&Version=1",
	"%zz",
	"",
}

// FuzzParseQuery feeds arbitrary request bodies to the Query parser and to
// the whole EC2 handler over a live world: nothing may panic (which the
// recover middleware would show as a 500), and every answer is either a
// well-formed response or EC2's error envelope with a client status.
func FuzzParseQuery(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s, "")
	}
	f.Add("Action=DescribeVpcs", "Version=2016-11-15&VpcId.1=vpc-1")
	srv, ids := fuzzWorld(f)
	h := srv.EC2Handler()
	f.Fuzz(func(t *testing.T, body, rawQuery string) {
		if vals, err := url.ParseQuery(body); err == nil {
			if action, version, perr := actionOf(vals, ec2Specs); perr == nil {
				if q, perr := parseQuery(action, version, vals, ec2Specs[action]); perr == nil {
					_, _ = q.filters()
					_, _ = createENIInput(q)
				}
			}
		}
		body = ids.Replace(body)
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		req.URL.RawQuery = rawQuery
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		fuzzCheckAnswer(t, rec)
	})
}

// fuzzWorld is the default world plus a spare ENI attached at device 1, and
// the replacer of the seeds' placeholders.
func fuzzWorld(f *testing.F) (*Server, *strings.Replacer) {
	cfg := wireConfig(nil)
	cfg.Seed = 11
	srv := wireServer(f, cfg)
	w := srv.World()
	inst, _ := w.DefaultInstance()
	eni, err := w.CreateNetworkInterface(CreateENIInput{SubnetID: inst.SubnetID})
	if err != nil {
		f.Fatal(err)
	}
	att, err := w.AttachNetworkInterface(eni.ID, inst.ID, 1, 0)
	if err != nil {
		f.Fatal(err)
	}
	return srv, strings.NewReplacer("$SUBNET", inst.SubnetID, "$INSTANCE", inst.ID, "$ENI", eni.ID, "$ATTACH", att)
}

func fuzzCheckAnswer(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code == http.StatusInternalServerError {
		t.Fatalf("500 (a panic or an unexpected error):\n%s", rec.Body.String())
	}
	dec := xml.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	if rec.Code == http.StatusOK {
		var resp struct {
			RequestID string `xml:"requestId"`
		}
		if err := dec.Decode(&resp); err != nil || resp.RequestID == "" {
			t.Fatalf("200 with a bad body (%v):\n%s", err, rec.Body.String())
		}
		return
	}
	var e wireErrorBody
	if err := dec.Decode(&e); err != nil || len(e.Errors) != 1 || e.Errors[0].Code == "" || e.RequestID == "" {
		t.Fatalf("status %d with a bad error envelope (%v):\n%s", rec.Code, err, rec.Body.String())
	}
	if rec.Code < 400 || rec.Code > 599 {
		t.Fatalf("error %s with status %d", e.Errors[0].Code, rec.Code)
	}
}
