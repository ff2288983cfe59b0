package lab

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
	"time"
)

// What save writes, Load reads back; the next pod index follows the pods.
func TestSaveLoad(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Prefix, cfg.StateDir = "t1", t.TempDir()
	cfg.IpamdEnv = map[string]string{"WARM_IP_TARGET": "2"}
	nodes, pods := testLab(2, 3)
	l := &Lab{cfg: cfg, nodes: nodes, pods: pods, timings: Timings{Up: time.Second, FirstPodReady: time.Millisecond}}
	if err := l.saveLocked(); err != nil {
		t.Fatal(err)
	}
	got, err := Load("t1", cfg.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Config(), cfg) || !reflect.DeepEqual(got.Nodes(), nodes) ||
		!reflect.DeepEqual(got.Pods(), pods) || got.Timings() != l.timings {
		t.Errorf("Load = %+v %+v %+v %+v\nwant %+v %+v %+v %+v", got.Config(), got.Nodes(), got.Pods(), got.Timings(),
			cfg, nodes, pods, l.timings)
	}
	if p := got.newPod(nodes[1]); p.Index != 4 || p.Name != "pod-2-4" || p.NetNS != "t1-n2-p4" {
		t.Errorf("next pod on node2 = %+v, want pod-2-4 in t1-n2-p4", p)
	}
	if _, err := got.Node(3); err == nil {
		t.Error("Node(3) of a 2-node lab succeeded")
	}
}

func TestLoadFails(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load("t1", dir); !errors.Is(err, ErrNoLab) {
		t.Errorf("Load of an empty dir = %v, want ErrNoLab", err)
	}
	cfg := DefaultConfig()
	cfg.Prefix, cfg.StateDir = "other", dir
	if err := (&Lab{cfg: cfg}).saveLocked(); err != nil {
		t.Fatal(err)
	}
	if _, err := Load("t1", dir); err == nil {
		t.Error("Load of another prefix's lab.json succeeded")
	}
	if err := os.WriteFile(filepath.Join(dir, labFile), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load("t1", dir); err == nil {
		t.Error("Load of a corrupt lab.json succeeded")
	}
}

// A pid file counts only while its process lives and runs one of the
// lab's binaries.
func TestPidFromFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name, content string
	}{
		{"garbage", "abc"},
		{"init", "1"},
		{"negative", "-5"},
		{"gone", "999999999"},
		{"not ours", strconv.Itoa(os.Getpid())}, // the test binary
	} {
		if pid, ok := pidFromFile(write(tc.name, tc.content)); ok {
			t.Errorf("%s: pid file %q counts (%d)", tc.name, tc.content, pid)
		}
	}
	if _, ok := pidFromFile(filepath.Join(dir, "missing")); ok {
		t.Error("a missing pid file counts")
	}
	if !alive(os.Getpid()) {
		t.Error("alive(self) = false")
	}
}

func TestUUID(t *testing.T) {
	u := uuid()
	if len(u) != 36 || u[14] != '4' || u[8] != '-' {
		t.Errorf("uuid() = %q, want a version 4 UUID", u)
	}
	if randomHex(32) == randomHex(32) || len(randomHex(32)) != 64 {
		t.Error("randomHex: want 64 random hex digits")
	}
}
