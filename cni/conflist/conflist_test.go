package conflist

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/containernetworking/cni/libcni"

	"github.com/vpc-cni/vpc-cni/cni/config"
)

// parse reads a rendered list as libcni and the plugin do: the list, then
// its one plugin entry with the list's name and version injected.
func parse(t *testing.T, b []byte, version string) config.Conf {
	t.Helper()
	l, err := libcni.ConfListFromBytes(b)
	if err != nil {
		t.Fatalf("libcni refuses the list: %v\n%s", err, b)
	}
	if l.CNIVersion != version || l.Name != NetworkName || len(l.Plugins) != 1 {
		t.Fatalf("list %s %s with %d plugins, want %s %s with 1", l.CNIVersion, l.Name, len(l.Plugins), version, NetworkName)
	}
	p, err := libcni.InjectConf(l.Plugins[0], map[string]any{"name": l.Name, "cniVersion": l.CNIVersion})
	if err != nil {
		t.Fatal(err)
	}
	c, err := config.Parse(p.Bytes)
	if err != nil {
		t.Fatalf("cni/config refuses the plugin entry: %v\n%s", err, p.Bytes)
	}
	return c
}

func TestRenderParses(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Options
		want func(c *config.Conf)
	}{
		{"defaults", Options{}, func(*config.Conf) {}},
		{"lab node", Options{
			IpamdSocket: "/run/vpclab/node1/ipamd.sock", VethPrefix: "eni", MTU: 0,
			LogFile: "/run/vpclab/node1/plugin.log", LogLevel: "debug",
		}, func(c *config.Conf) {
			c.IpamdSocket, c.LogFile, c.LogLevel = "/run/vpclab/node1/ipamd.sock", "/run/vpclab/node1/plugin.log", "debug"
		}},
		{"cniVersion 1.1.0", Options{CNIVersion: "1.1.0"}, func(c *config.Conf) { c.CNIVersion = "1.1.0" }},
		{"cniVersion 0.4.0", Options{CNIVersion: "0.4.0"}, func(c *config.Conf) { c.CNIVersion = "0.4.0" }},
		{"every option", Options{
			IpamdSocket: "/s.sock", VethPrefix: "abc", MTU: 1500, LogFile: "/l.log", LogLevel: "warn",
			LogMaxSizeMB: 5, IpamdTimeout: 30 * time.Second,
		}, func(c *config.Conf) {
			c.IpamdSocket, c.VethPrefix, c.MTU, c.LogFile, c.LogLevel = "/s.sock", "abc", 1500, "/l.log", "warn"
			c.LogMaxSizeMB, c.IpamdTimeout = 5, 30*time.Second
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Render(tc.o)
			if err != nil {
				t.Fatal(err)
			}
			want := config.Default()
			want.CNIVersion, want.Name, want.Type = DefaultCNIVersion, NetworkName, PluginType
			tc.want(&want)
			if got := parse(t, b, want.CNIVersion); !reflect.DeepEqual(got, want) {
				t.Errorf("parses to %+v\nwant %+v", got, want)
			}
			if got := tc.o.Conf(); !reflect.DeepEqual(got, want) {
				t.Errorf("Conf() = %+v\nwant %+v", got, want)
			}
		})
	}
}

// The defaults render the sample conflist the repository ships, apart from
// the two optional keys it spells out.
func TestRenderMatchesSample(t *testing.T) {
	b, err := Render(Options{LogMaxSizeMB: config.DefaultLogMaxSizeMB, IpamdTimeout: config.DefaultIpamdTimeout})
	if err != nil {
		t.Fatal(err)
	}
	sample, err := os.ReadFile("../10-vpc-cni.conflist")
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != string(sample) {
		t.Errorf("rendered:\n%s\nthe sample:\n%s", b, sample)
	}
}

func TestRenderRefuses(t *testing.T) {
	for _, tc := range []struct {
		o    Options
		key  string
		kind error
	}{
		{Options{IpamdSocket: "relative.sock"}, "ipamdSocket", config.ErrInvalid},
		{Options{VethPrefix: "toolong"}, "vethPrefix", config.ErrInvalid},
		{Options{MTU: 100}, "mtu", config.ErrInvalid},
		{Options{LogLevel: "loud"}, "pluginLogLevel", config.ErrInvalid},
		{Options{LogFile: "log"}, "pluginLogFile", config.ErrInvalid},
		{Options{IpamdTimeout: time.Millisecond}, "ipamdTimeout", config.ErrInvalid},
		{Options{CNIVersion: "0.3.1"}, "cniVersion", config.ErrVersion},
	} {
		_, err := Render(tc.o)
		if err == nil || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("Render(%+v) = %v, want an error naming %s", tc.o, err, tc.key)
		}
		if !errors.Is(err, tc.kind) {
			t.Errorf("Render(%+v) = %v, want it to wrap %v", tc.o, err, tc.kind)
		}
	}
}

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	o := Options{IpamdSocket: "/run/x/ipamd.sock"}
	if err := Write(dir, o); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := Render(o); string(b) != string(want) {
		t.Errorf("wrote %s, want %s", b, want)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", fi.Mode().Perm())
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the conflist (no temporary file left)", len(entries))
	}
}

func TestWriteFails(t *testing.T) {
	dir := t.TempDir()
	if err := Write(filepath.Join(dir, "missing"), Options{}); err == nil {
		t.Error("Write into a missing directory succeeded")
	}
	if err := Write(dir, Options{MTU: 1}); err == nil {
		t.Error("Write of a bad option succeeded")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a failed Write left %d entries", len(entries))
	}
}
