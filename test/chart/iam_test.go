package chart

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// TestIAMPolicyIsWhatIpamdCalls checks docs/iam-policy.json against the
// EC2 requests cloud/aws builds (each ec2.<Action>Input literal): a new
// call without its permission, or a permission nothing uses, fails.
func TestIAMPolicyIsWhatIpamdCalls(t *testing.T) {
	var policy struct {
		Statement []struct {
			Effect   string
			Action   []string
			Resource string
		}
	}
	b, err := os.ReadFile("../../docs/iam-policy.json")
	if err == nil {
		err = json.Unmarshal(b, &policy)
	}
	if err != nil {
		t.Fatal(err)
	}
	var granted []string
	for _, s := range policy.Statement {
		if s.Effect != "Allow" {
			t.Errorf("statement with effect %q", s.Effect)
		}
		granted = append(granted, s.Action...)
	}
	sort.Strings(granted)

	files, err := filepath.Glob("../../cloud/aws/*.go")
	if err != nil {
		t.Fatal(err)
	}
	input := regexp.MustCompile(`ec2\.([A-Z][A-Za-z]+)Input\{`)
	used := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range input.FindAllStringSubmatch(string(src), -1) {
			used["ec2:"+m[1]] = true
		}
	}
	var calls []string
	for a := range used {
		calls = append(calls, a)
	}
	sort.Strings(calls)
	if len(calls) == 0 {
		t.Fatal("found no EC2 requests in cloud/aws: has the client moved?")
	}
	if !reflect.DeepEqual(granted, calls) {
		t.Errorf("docs/iam-policy.json grants\n%q\ncloud/aws calls\n%q", granted, calls)
	}
}
