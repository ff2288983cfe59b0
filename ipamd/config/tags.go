package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"
)

// EC2's tag limits.
const (
	maxTagKey   = 128
	maxTagValue = 256
	// maxOwnTags is how many tags ipamd sets on an ENI it creates, at
	// most: created-by, instance id, creation time, cluster name, node
	// name, and the create token that finds an ENI whose create answer was
	// lost.
	maxOwnTags = 6
	// MaxAdditionalENITags is how many ADDITIONAL_ENI_TAGS fit: EC2 takes
	// 50 tags on a resource, and ipamd sets up to maxOwnTags of its own.
	MaxAdditionalENITags = 50 - maxOwnTags
)

const wantTags = `a JSON object of string keys and string values, e.g. {"team":"payments"}`

// reservedTag is a family of tag keys that ADDITIONAL_ENI_TAGS may not
// use. A dropped one is left out with a warning, as the AWS VPC CNI does
// with its own, so that an aws-node configuration carries over; the others
// are refused.
type reservedTag struct {
	match func(key string) bool
	why   string
	drop  bool
}

var reservedTags = []reservedTag{
	{func(k string) bool { return strings.HasPrefix(k, TagKeyPrefix) },
		"starts with " + TagKeyPrefix + ", which is reserved for vpc-cni's own tags", true},
	{func(k string) bool { return strings.Contains(k, "k8s.amazonaws.com") },
		"contains k8s.amazonaws.com, which the AWS VPC CNI reserves for its own tags", true},
	{func(k string) bool { return strings.HasPrefix(strings.ToLower(k), "aws:") },
		"starts with aws:, which AWS reserves (EC2 refuses it)", false},
}

// setTags parses ADDITIONAL_ENI_TAGS. A key reserved for vpc-cni's or the
// AWS VPC CNI's own tags is dropped with a warning; any other bad key or
// value is an error.
func setTags(p *parser, v string) error {
	if !strings.HasPrefix(strings.TrimSpace(v), "{") {
		return want(wantTags)
	}
	var tags map[string]string
	if err := json.Unmarshal([]byte(v), &tags); err != nil {
		return want(wantTags)
	}
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		if r, ok := droppedTag(k); ok {
			p.c.Warnings = append(p.c.Warnings,
				fmt.Sprintf("ADDITIONAL_ENI_TAGS: tag key %q is dropped: it %s", k, r.why))
			delete(tags, k)
			continue
		}
		if err := checkTag(k, tags[k]); err != nil {
			errs = append(errs, err)
		}
	}
	if len(tags) > MaxAdditionalENITags {
		errs = append(errs, problem(fmt.Sprintf("%d tags", len(tags)),
			fmt.Sprintf("at most %d (EC2 takes 50 tags on an ENI and ipamd sets %d)",
				MaxAdditionalENITags, maxOwnTags)))
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if tags == nil {
		tags = map[string]string{}
	}
	p.c.AdditionalENITags = tags
	return nil
}

// droppedTag is the reserved family a key that is dropped belongs to.
func droppedTag(k string) (reservedTag, bool) {
	for _, r := range reservedTags {
		if r.drop && r.match(k) {
			return r, true
		}
	}
	return reservedTag{}, false
}

func checkTag(k, v string) error {
	const wantKey = "tag keys of 1 to 128 characters, not starting with aws:"
	switch {
	case k == "" || utf8.RuneCountInString(k) > maxTagKey:
		return problem(fmt.Sprintf("tag key %q has %d characters", k, utf8.RuneCountInString(k)), wantKey)
	case utf8.RuneCountInString(v) > maxTagValue:
		return problem(fmt.Sprintf("the value of tag %q has %d characters", k, utf8.RuneCountInString(v)),
			"tag values of at most 256 characters")
	}
	for _, r := range reservedTags {
		if r.match(k) {
			return problem(fmt.Sprintf("tag key %q %s", k, r.why), wantKey)
		}
	}
	return nil
}
