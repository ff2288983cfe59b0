package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunStartsAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // serve nothing: start, log, shut down
	var stderr bytes.Buffer
	if code := run(ctx, []string{"--listen", "127.0.0.1:0", "--imds-listen", "127.0.0.1:0"}, &stderr); code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	first, _, _ := strings.Cut(stderr.String(), "\n")
	var line map[string]any
	if err := json.Unmarshal([]byte(first), &line); err != nil {
		t.Fatalf("startup line is not JSON: %v\n%s", err, first)
	}
	for _, k := range []string{keyEC2URL, keyIMDSURL, keyInstance} {
		if s, _ := line[k].(string); s == "" {
			t.Errorf("startup line lacks %s: %s", k, first)
		}
	}
}

func TestRunRejectsBadInput(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"region":""}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args []string
		code int
	}{
		{[]string{"--nonesuch"}, 2},
		{[]string{"extra"}, 2},
		{[]string{"--config", bad}, 1},
		{[]string{"--listen", "256.0.0.1:0"}, 1},
	}
	for _, c := range cases {
		var stderr bytes.Buffer
		if code := run(context.Background(), c.args, &stderr); code != c.code {
			t.Errorf("run %v: exit %d, want %d\n%s", c.args, code, c.code, stderr.String())
		}
	}
}
