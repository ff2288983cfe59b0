package logfile

import (
	"bufio"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// lines reads a log file as JSON objects, one a line.
func lines(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q is not JSON: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestWritesJSONLines(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "var", "log", "vpc-cni")
	path := filepath.Join(dir, "plugin.log")
	log, c, err := Open(path, "warn", 10)
	if err != nil {
		t.Fatal(err)
	}
	log.Info("dropped: below the level")
	log.Warn("add failed", "container", "c1", "ip", "198.18.0.5")
	log.Error("del failed", "container", "c2")
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	got := lines(t, path)
	if len(got) != 2 || got[0]["msg"] != "add failed" || got[0]["level"] != "WARN" || got[0]["ip"] != "198.18.0.5" ||
		got[1]["msg"] != "del failed" {
		t.Fatalf("log lines %v", got)
	}
	assertMode(t, dir, dirMode)
	assertMode(t, path, fileMode)
}

func assertMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	// the umask may take bits away, never add them
	if got := fi.Mode().Perm(); got&^want != 0 || (want == fileMode && got != want) {
		t.Errorf("%s has mode %v, want %v", path, got, want)
	}
}

func TestAppendsToExisting(t *testing.T) {
	path := filepath.Join(t.TempDir(), "plugin.log")
	for i, msg := range []string{"first", "second"} {
		log, c, err := Open(path, "debug", 1)
		if err != nil {
			t.Fatal(err)
		}
		log.Debug(msg)
		c.Close()
		if got := lines(t, path); len(got) != i+1 || got[i]["msg"] != msg {
			t.Fatalf("after %q: %v", msg, got)
		}
	}
}

func TestRotatesPastSize(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "plugin.log")
	log, c, err := Open(path, "info", 1)
	if err != nil {
		t.Fatal(err)
	}
	pad := strings.Repeat("x", 1000)
	for i := range 1500 { // about 1.5 MB
		log.Info("line", "i", i, "pad", pad)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	backups, err := filepath.Glob(filepath.Join(dir, "plugin-*.log"))
	if err != nil || len(backups) != 1 {
		t.Fatalf("backups %v (%v), want 1", backups, err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Size() > 1<<20 {
		t.Fatalf("current log %v (%v), want at most 1 MB", fi, err)
	}
	n := len(lines(t, backups[0])) + len(lines(t, path))
	if n != 1500 {
		t.Fatalf("%d lines across the files, want 1500", n)
	}
}

func TestEmptyPathDiscards(t *testing.T) {
	log, c, err := Open("", "info", 10)
	if err != nil || log == nil || c == nil {
		t.Fatalf("Open(\"\") = %v, %v, %v", log, c, err)
	}
	log.Error("nowhere")
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestUnopenableGivesErrorAndDiscardingLogger(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path, level string
		size              int
		is                error
	}{
		{"directory under a file", filepath.Join(file, "sub", "plugin.log"), "info", 10, nil},
		{"path is a directory", dir, "info", 10, nil},
		{"relative", "plugin.log", "info", 10, nil},
		{"level", filepath.Join(dir, "a.log"), "trace", 10, nil},
		{"size", filepath.Join(dir, "b.log"), "info", 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log, c, err := Open(tc.path, tc.level, tc.size)
			if err == nil {
				t.Fatal("no error")
			}
			if log == nil || c == nil {
				t.Fatalf("Open returned a nil logger or closer with %v", err)
			}
			log.Error("still works", "err", err)
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "a.log")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a bad level created the file: %v", err)
	}
}
