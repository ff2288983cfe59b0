package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// field is one key of a JSON object with its raw value, in document order.
type field struct {
	key string
	raw json.RawMessage
}

// duplicateKey is a key an object has more than once.
type duplicateKey string

func (k duplicateKey) Error() string { return fmt.Sprintf("key %q appears more than once", string(k)) }

// topFields splits stdin into its keys, a key given twice included:
// malformed JSON, or JSON that is not an object, is ErrDecode.
func topFields(b []byte) ([]field, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, fmt.Errorf("%w: stdin is empty; the runtime passes the plugin's entry of the conflist there", ErrDecode)
	}
	fields, err := objectFields(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDecode, err)
	}
	return fields, nil
}

// duplicateError is a top-level key given more than once.
func duplicateError(key string) *KeyError {
	return &KeyError{Key: key, Kind: ErrInvalid, Problem: errors.New("appears more than once"), Fix: "keep one of them"}
}

// duplicated are the keys fields has more than once.
func duplicated(fields []field) map[string]bool {
	seen := make(map[string]bool, len(fields))
	dups := map[string]bool{}
	for _, f := range fields {
		if seen[f.key] {
			dups[f.key] = true
		}
		seen[f.key] = true
	}
	return dups
}

// subFields splits a nested value, which must be an object with each key
// once.
func subFields(raw json.RawMessage) ([]field, error) {
	if !isKind(raw, '{') {
		return nil, fmt.Errorf("got %s", describe(raw))
	}
	fields, err := objectFields(raw)
	if err != nil {
		return nil, err
	}
	dups := duplicated(fields)
	for _, f := range fields {
		if dups[f.key] {
			return nil, duplicateKey(f.key)
		}
	}
	return fields, nil
}

// objectFields splits an object into its keys in document order, a key
// given twice included.
func objectFields(b []byte) ([]field, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil {
		return nil, syntaxError(dec, err)
	}
	if tok != json.Delim('{') {
		return nil, fmt.Errorf("want a JSON object, got %s", describeToken(tok))
	}
	var fields []field
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, syntaxError(dec, err)
		}
		key, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, syntaxError(dec, err)
		}
		fields = append(fields, field{key: key, raw: raw})
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, syntaxError(dec, err)
	}
	end := dec.InputOffset()
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("more data after the JSON object (at byte offset %d)", end)
	}
	return fields, nil
}

func syntaxError(dec *json.Decoder, err error) error {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return fmt.Errorf("%w (at byte offset %d)", err, se.Offset)
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("unexpected end of JSON input (at byte offset %d)", dec.InputOffset())
	}
	return fmt.Errorf("%w (at byte offset %d)", err, dec.InputOffset())
}

func str(raw json.RawMessage) (string, error) {
	var s string
	if !isKind(raw, '"') || json.Unmarshal(raw, &s) != nil {
		return "", fmt.Errorf("got %s", describe(raw))
	}
	return s, nil
}

func integer(raw json.RawMessage) (int, error) {
	if !isKind(raw, '0') {
		return 0, fmt.Errorf("got %s", describe(raw))
	}
	var n int
	if err := json.Unmarshal(raw, &n); err != nil {
		return 0, fmt.Errorf("got %s, not an integer in range", describe(raw))
	}
	return n, nil
}

func list(raw json.RawMessage) ([]json.RawMessage, error) {
	var items []json.RawMessage
	if !isKind(raw, '[') || json.Unmarshal(raw, &items) != nil {
		return nil, fmt.Errorf("got %s", describe(raw))
	}
	return items, nil
}

func strList(raw json.RawMessage) ([]string, error) {
	items, err := list(raw)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(items))
	for i, item := range items {
		s, err := str(item)
		if err != nil {
			return nil, fmt.Errorf("[%d]: %w", i, err)
		}
		out = append(out, s)
	}
	return out, nil
}

// isKind reports whether raw is a JSON value of the kind its first byte
// gives: '{', '[', '"', 't', 'f', 'n', or '0' for any number.
func isKind(raw json.RawMessage, kind byte) bool {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 {
		return false
	}
	c := raw[0]
	if c == '-' || (c >= '0' && c <= '9') {
		c = '0'
	}
	return c == kind
}

// describe names a JSON value's kind, with the value itself for a scalar,
// for a message.
func describe(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	switch {
	case isKind(raw, '"'):
		return "the string " + clip(raw)
	case isKind(raw, '0'):
		return "the number " + clip(raw)
	case isKind(raw, 't'), isKind(raw, 'f'):
		return "the boolean " + string(raw)
	case isKind(raw, 'n'):
		return "null"
	case isKind(raw, '{'):
		return "an object"
	case isKind(raw, '['):
		return "a list"
	}
	return "nothing"
}

func describeToken(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		if t == '[' {
			return "a list"
		}
	case string:
		return "a string"
	case float64, json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%v", tok)
}

// clip cuts a long value for a message.
func clip(raw []byte) string { return clipTo(raw, 40) }

// maxValueText bounds the value an unknown key's message quotes.
const maxValueText = 64

// valueText is a JSON value as a message quotes it: compacted, cut to
// maxValueText bytes.
func valueText(raw json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return clipTo(raw, maxValueText)
	}
	return clipTo(b.Bytes(), maxValueText)
}

// clipTo cuts raw to at most n bytes, on a character's boundary, marking
// the cut with "...".
func clipTo(raw []byte, n int) string {
	if len(raw) <= n {
		return string(raw)
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(raw[cut]) {
		cut--
	}
	return string(raw[:cut]) + "..."
}
