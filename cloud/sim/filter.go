package sim

import (
	"slices"
	"strings"
)

// EC2 Describe filters: values OR within a filter, filters AND together;
// values may use the wildcards * (any run of characters) and ? (any one
// character), and a backslash makes the next character literal.

// fieldsFunc returns the values a resource has for a filter name.
type fieldsFunc[T any] func(item T, name string) []string

// filterSet is the filter names a Describe action accepts, besides the tag
// filters every one of them accepts (tag:KEY, tag-key, tag-value).
type filterSet map[string]bool

func newFilterSet(names ...string) filterSet {
	s := filterSet{}
	for _, n := range names {
		s[n] = true
	}
	return s
}

// check fails with InvalidParameterValue on the first unknown filter name.
func (s filterSet) check(filters []Filter) error {
	for _, f := range filters {
		if s[f.Name] || f.Name == "tag-key" || f.Name == "tag-value" ||
			(strings.HasPrefix(f.Name, "tag:") && len(f.Name) > len("tag:")) {
			continue
		}
		return invalid("The filter '%s' is invalid", f.Name)
	}
	return nil
}

// applyFilters keeps the items that match every filter. A filter with no
// values matches nothing.
func applyFilters[T any](items []T, filters []Filter, fields fieldsFunc[T]) []T {
	if len(filters) == 0 {
		return items
	}
	return slices.DeleteFunc(items, func(it T) bool {
		for _, f := range filters {
			if !matchAny(fields(it, f.Name), f.Values) {
				return true
			}
		}
		return false
	})
}

// matchAny reports whether any value matches any pattern.
func matchAny(values, patterns []string) bool {
	for _, v := range values {
		for _, p := range patterns {
			if wildcardMatch(p, v) {
				return true
			}
		}
	}
	return false
}

// tagFields answers the tag filters for a resource's tags: tag:KEY gives
// that tag's value, tag-key every key, tag-value every value.
func tagFields(tags []Tag, name string) []string {
	var out []string
	key, isTag := strings.CutPrefix(name, "tag:")
	for _, t := range tags {
		switch {
		case isTag && t.Key == key:
			out = append(out, t.Value)
		case name == "tag-key":
			out = append(out, t.Key)
		case name == "tag-value":
			out = append(out, t.Value)
		}
	}
	return out
}

// wildcardMatch matches s against an EC2 filter pattern.
func wildcardMatch(pattern, s string) bool {
	p, v := []rune(pattern), []rune(s)
	// After a *, star is the pattern position following it and mark the
	// value position it was last tried at, for backtracking.
	pi, vi, star, mark := 0, 0, -1, 0
	for vi < len(v) {
		if pi < len(p) {
			c, width := p[pi], 1
			if c == '\\' && pi+1 < len(p) {
				c, width = p[pi+1], 2
			}
			if width == 1 && c == '*' {
				star, mark = pi+1, vi
				pi++
				continue
			}
			if (width == 1 && c == '?') || c == v[vi] {
				pi, vi = pi+width, vi+1
				continue
			}
		}
		if star < 0 {
			return false
		}
		mark++
		pi, vi = star, mark
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
