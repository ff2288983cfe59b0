package sim

import "testing"

func TestFilterWildcardMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"abc", "abc", true},
		{"abc", "abcd", false},
		{"", "", true},
		{"", "a", false},
		{"*", "", true},
		{"*", "anything", true},
		{"a*", "abc", true},
		{"*c", "abc", true},
		{"a*c", "ac", true},
		{"a*c", "abbbc", true},
		{"a*c", "abbbd", false},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"?", "é", true},
		{"eni-*", "eni-0abc", true},
		{"10.0.*.5", "10.0.12.5", true},
		{"10.0.*.5", "10.0.12.6", false},
		{"*a*b*", "xxaxxbxx", true},
		{"*a*b*", "xxbxxaxx", false},
		{`a\*c`, "a*c", true},
		{`a\*c`, "abc", false},
		{`a\?`, "a?", true},
		{`a\?`, "ab", false},
		{"**", "x", true},
		{"a**b", "ab", true},
	}
	for _, tc := range tests {
		if got := wildcardMatch(tc.pattern, tc.s); got != tc.want {
			t.Errorf("wildcardMatch(%q, %q) = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
}

func TestFilterNames(t *testing.T) {
	s := newFilterSet("vpc-id")
	for _, c := range []struct {
		name string
		ok   bool
	}{
		{"vpc-id", true}, {"tag:Name", true}, {"tag-key", true}, {"tag-value", true},
		{"tag:", false}, {"vpcid", false}, {"", false},
	} {
		err := s.check([]Filter{{Name: c.name, Values: []string{"x"}}})
		if (err == nil) != c.ok {
			t.Errorf("filter %q: err %v, want ok %v", c.name, err, c.ok)
		}
	}
}
