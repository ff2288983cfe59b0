package sim

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// Tag limits EC2 enforces.
const (
	maxTags        = 50
	maxTagKeyLen   = 128
	maxTagValueLen = 256
	reservedPrefix = "aws:"
)

// validateTags checks tags to be added to a resource that has existing:
// keys present and not reserved, lengths, and at most 50 tags afterwards.
func validateTags(existing, add []Tag) error {
	for _, t := range add {
		switch {
		case t.Key == "":
			return invalid("Tag keys must not be empty.")
		case strings.HasPrefix(strings.ToLower(t.Key), reservedPrefix):
			return invalid("Tag keys starting with 'aws:' are reserved for internal use")
		case utf8.RuneCountInString(t.Key) > maxTagKeyLen:
			return invalid("Tag key exceeds the maximum length of %d characters.", maxTagKeyLen)
		case utf8.RuneCountInString(t.Value) > maxTagValueLen:
			return invalid("Tag value exceeds the maximum length of %d characters.", maxTagValueLen)
		}
	}
	if len(mergeTags(existing, add)) > maxTags {
		return errf(CodeTagLimitExceeded, "The maximum number of tags per resource (%d) has been exceeded.", maxTags)
	}
	return nil
}

// mergeTags returns existing with add applied: a key present is overwritten
// in place, a new key appended. existing is not modified.
func mergeTags(existing, add []Tag) []Tag {
	out := slices.Clone(existing)
	for _, t := range add {
		i := slices.IndexFunc(out, func(o Tag) bool { return o.Key == t.Key })
		if i >= 0 {
			out[i].Value = t.Value
		} else {
			out = append(out, t)
		}
	}
	return out
}

// tagsOf finds the tags of a resource of any taggable kind.
func (w *World) tagsOf(id string) (*[]Tag, error) {
	k, ok := kindOf(id)
	if !ok || !wellFormed(k, id) {
		return nil, errf(CodeInvalidID, "The ID '%s' is not valid", id)
	}
	var tags *[]Tag
	switch k {
	case kindVPC:
		if v := w.vpcs[id]; v != nil {
			tags = &v.Tags
		}
	case kindSubnet:
		if sn := w.subnets[id]; sn != nil {
			tags = &sn.Tags
		}
	case kindInstance:
		if in := w.instances[id]; in != nil {
			tags = &in.Tags
		}
	case kindENI:
		if e := w.enis[id]; e != nil {
			tags = &e.Tags
		}
	}
	if tags == nil {
		return nil, notFound(k, []string{id})
	}
	return tags, nil
}

// CreateTags adds or overwrites tags on resources of any kind, all or
// nothing.
func (w *World) CreateTags(resourceIDs []string, tags []Tag) error {
	defer w.lock()()
	if len(resourceIDs) == 0 {
		return errf(CodeMissingParameter, "The request must contain the parameter resourceIdSet")
	}
	if len(tags) == 0 {
		return errf(CodeMissingParameter, "The request must contain the parameter tagSet")
	}
	targets := make([]*[]Tag, 0, len(resourceIDs))
	for _, id := range resourceIDs {
		t, err := w.tagsOf(id)
		if err != nil {
			return err
		}
		if err := validateTags(*t, tags); err != nil {
			return err
		}
		targets = append(targets, t)
	}
	for _, t := range targets {
		*t = mergeTags(*t, tags)
	}
	return nil
}

// DeleteTags removes tags; a tag given with a value is removed only when the
// value matches, a tag with deleteAnyValue set regardless of value. With no
// tags at all, every tag of the resources is removed, as on EC2.
func (w *World) DeleteTags(resourceIDs []string, tags []DeleteTag) error {
	defer w.lock()()
	if len(resourceIDs) == 0 {
		return errf(CodeMissingParameter, "The request must contain the parameter resourceIdSet")
	}
	targets := make([]*[]Tag, 0, len(resourceIDs))
	for _, id := range resourceIDs {
		t, err := w.tagsOf(id)
		if err != nil {
			return err
		}
		targets = append(targets, t)
	}
	for _, t := range targets {
		if len(tags) == 0 {
			*t = nil
			continue
		}
		*t = slices.DeleteFunc(slices.Clone(*t), func(have Tag) bool {
			return slices.ContainsFunc(tags, func(d DeleteTag) bool {
				return d.Key == have.Key && (d.DeleteAnyValue || d.Value == have.Value)
			})
		})
	}
	return nil
}

// DeleteTag names a tag to delete.
type DeleteTag struct {
	Key            string
	Value          string
	DeleteAnyValue bool // no value was given
}
