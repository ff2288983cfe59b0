package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestRunUsage(t *testing.T) {
	defer func(f func() int) { geteuid = f }(geteuid)
	geteuid = func() int { return 0 }
	for _, tc := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{nil, exitUsage, "usage: lab"},
		{[]string{"sideways"}, exitUsage, `unknown command "sideways"`},
		{[]string{"fabricd"}, exitUsage, "want --prefix P --state-url URL --nodes JSON"},
		{[]string{"fabricd", "--prefix", "p", "--state-url", "http://x", "--nodes", "{"}, exitUsage, "--nodes JSON"},
		{[]string{"fabricd", "--bogus"}, exitUsage, "flag provided but not defined"},
	} {
		var out, errw bytes.Buffer
		code := run(context.Background(), tc.args, func(string) string { return "" }, &out, &errw)
		if code != tc.code || !strings.Contains(errw.String(), tc.stderr) {
			t.Errorf("lab %v: exit %d, stderr %q; want %d and %q", tc.args, code, errw.String(), tc.code, tc.stderr)
		}
	}
	var out bytes.Buffer
	if code := run(context.Background(), []string{"help"}, nil, &out, &out); code != exitOK || !strings.Contains(out.String(), "usage") {
		t.Errorf("lab help: exit %d, %q", code, out.String())
	}
}

// Without root every subcommand stops with one line saying so.
func TestRunNeedsRoot(t *testing.T) {
	defer func(f func() int) { geteuid = f }(geteuid)
	geteuid = func() int { return 1000 }
	for _, cmd := range []string{"up", "down", "report", "fabricd"} {
		var out, errw bytes.Buffer
		code := run(context.Background(), []string{cmd}, func(string) string { return "" }, &out, &errw)
		if code != exitFailed || strings.Count(errw.String(), "\n") != 1 || !strings.Contains(errw.String(), "needs root") {
			t.Errorf("lab %s as a user: exit %d, stderr %q; want 1 and one line saying it needs root", cmd, code, errw.String())
		}
	}
}

// A bad setting stops up before anything is made, naming the variable.
func TestUpBadSetting(t *testing.T) {
	defer func(f func() int) { geteuid = f }(geteuid)
	geteuid = func() int { return 0 }
	env := map[string]string{"LAB_NODES": "99"}
	var out, errw bytes.Buffer
	code := run(context.Background(), []string{"up"}, func(k string) string { return env[k] }, &out, &errw)
	if code != exitUsage || !strings.Contains(errw.String(), "LAB_NODES") {
		t.Errorf("lab up with LAB_NODES=99: exit %d, stderr %q", code, errw.String())
	}
}
