package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// EC2's tag limits.
const (
	maxTagKey   = 128
	maxTagValue = 256
	// MaxAdditionalENITags is how many ADDITIONAL_ENI_TAGS fit: EC2 takes
	// 50 tags on a resource, and ipamd sets up to 4 of its own (created-by,
	// instance id, creation time, cluster name).
	MaxAdditionalENITags = 46
)

const wantTags = `a JSON object of string keys and string values, e.g. {"team":"payments"}`

// reservedTag is a family of tag keys that ADDITIONAL_ENI_TAGS may not use.
type reservedTag struct {
	match func(key string) bool
	why   string
}

var reservedTags = []reservedTag{
	{func(k string) bool { return strings.HasPrefix(k, TagKeyPrefix) },
		"starts with " + TagKeyPrefix + ", which is reserved for vpc-cni's own tags"},
	{func(k string) bool { return strings.Contains(k, "k8s.amazonaws.com") },
		"contains k8s.amazonaws.com, which the AWS VPC CNI reserves for its own tags"},
	{func(k string) bool { return strings.HasPrefix(strings.ToLower(k), "aws:") },
		"starts with aws:, which AWS reserves"},
}

// setTags parses ADDITIONAL_ENI_TAGS. Unlike the AWS VPC CNI, which drops a
// reserved key with a warning, a reserved key is an error.
func setTags(p *parser, v string) error {
	if !strings.HasPrefix(strings.TrimSpace(v), "{") {
		return want(wantTags)
	}
	var tags map[string]string
	if err := json.Unmarshal([]byte(v), &tags); err != nil {
		return want(wantTags)
	}
	var errs []error
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if err := checkTag(k, tags[k]); err != nil {
			errs = append(errs, err)
		}
	}
	if len(tags) > MaxAdditionalENITags {
		errs = append(errs, problem(fmt.Sprintf("%d tags", len(tags)),
			fmt.Sprintf("at most %d (EC2 takes 50 tags on an ENI and ipamd sets 4)", MaxAdditionalENITags)))
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

func checkTag(k, v string) error {
	const wantKey = "tag keys of 1 to 128 characters, outside aws:, vpc-cni.io/ and k8s.amazonaws.com"
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
