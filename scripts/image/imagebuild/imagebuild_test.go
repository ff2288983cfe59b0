package imagebuild

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// ReadBack opens the tarball file as the image tagged Ref and returns it
// with the files of its layers (path → content and mode).
func readBack(t *testing.T, file string) (v1.Image, map[string]*tar.Header, map[string]string) {
	t.Helper()
	return readBackRef(t, file, Ref)
}

// readBackRef is readBack of the image tagged ref.
func readBackRef(t *testing.T, file, ref string) (v1.Image, map[string]*tar.Header, map[string]string) {
	t.Helper()
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	img, err := tarball.ImageFromPath(file, &tag)
	if err != nil {
		t.Fatalf("read %s as %s: %v", file, ref, err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	hdrs, contents := map[string]*tar.Header{}, map[string]string{}
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(tr)
			hdrs["/"+h.Name], contents["/"+h.Name] = h, string(b)
		}
		rc.Close()
	}
	return img, hdrs, contents
}

func fakeInput(t *testing.T) Input {
	dir := t.TempDir()
	in := Input{Binaries: map[string]string{}}
	for _, b := range Binaries {
		p := filepath.Join(dir, b)
		if err := os.WriteFile(p, []byte("binary "+b), 0o600); err != nil {
			t.Fatal(err)
		}
		in.Binaries[b] = p
	}
	in.CABundle = filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(in.CABundle, []byte("certs"), 0o600); err != nil {
		t.Fatal(err)
	}
	return in
}

func TestWriteReadBack(t *testing.T) {
	file := filepath.Join(t.TempDir(), "image.tar")
	if err := Write(file, fakeInput(t)); err != nil {
		t.Fatal(err)
	}
	img, hdrs, contents := readBack(t, file)
	checkImage(t, img, hdrs)
	for _, b := range Binaries {
		if got := contents[BinDir+"/"+b]; got != "binary "+b {
			t.Errorf("%s/%s holds %q", BinDir, b, got)
		}
	}
	if contents[CABundlePath] != "certs" || hdrs[CABundlePath].Mode != 0o644 {
		t.Errorf("CA bundle: %q mode %o", contents[CABundlePath], hdrs[CABundlePath].Mode)
	}
	want := []string{"/bin/", "/etc/", "/etc/ssl/", "/etc/ssl/certs/"}
	for _, d := range want {
		if h := hdrs[d]; h == nil || h.Typeflag != tar.TypeDir {
			t.Errorf("no directory entry %s", d)
		}
	}
	if len(hdrs) != len(Binaries)+1+len(want) {
		t.Errorf("layer holds %d entries, want the binaries, the CA bundle and their directories", len(hdrs))
	}
}

// checkImage checks what every vpc-cni image must be: one layer, linux/amd64,
// ipamd as the entrypoint, each binary executable in BinDir.
func checkImage(t *testing.T, img v1.Image, hdrs map[string]*tar.Header) {
	t.Helper()
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Errorf("image has %d layers (%v), want 1", len(layers), err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || cf.Architecture != "amd64" {
		t.Errorf("platform %s/%s, want linux/amd64", cf.OS, cf.Architecture)
	}
	if !reflect.DeepEqual(cf.Config.Entrypoint, []string{"/bin/ipamd"}) {
		t.Errorf("entrypoint %q, want [/bin/ipamd]", cf.Config.Entrypoint)
	}
	for _, b := range Binaries {
		h := hdrs[BinDir+"/"+b]
		if h == nil {
			t.Errorf("no %s/%s in the image", BinDir, b)
			continue
		}
		if h.Mode != 0o755 || h.Uid != 0 || h.Gid != 0 {
			t.Errorf("%s: mode %o owner %d:%d, want 0755 root", h.Name, h.Mode, h.Uid, h.Gid)
		}
	}
}

func TestDeterministic(t *testing.T) {
	in := fakeInput(t)
	var digests []v1.Hash
	for i := 0; i < 2; i++ {
		img, err := Build(in)
		if err != nil {
			t.Fatal(err)
		}
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		digests = append(digests, d)
	}
	if digests[0] != digests[1] {
		t.Errorf("the same input gave two images: %v", digests)
	}
}

func TestMissingBinary(t *testing.T) {
	in := fakeInput(t)
	delete(in.Binaries, "vpc-cni")
	if _, err := Build(in); !errors.Is(err, ErrMissingBinary) {
		t.Errorf("Build without vpc-cni: %v, want ErrMissingBinary", err)
	}
	in = fakeInput(t)
	in.Binaries["ipamd"] = filepath.Join(t.TempDir(), "absent")
	if _, err := Build(in); err == nil {
		t.Error("Build with an absent file succeeded")
	}
}

// TestWriteSpec: any image of static files (the lab's pause and echo
// images): its tag, entrypoint, one layer with the files, binaries
// executable.
func TestWriteSpec(t *testing.T) {
	dir := t.TempDir()
	pause := filepath.Join(dir, "pause")
	if err := os.WriteFile(pause, []byte("\x7fELF pause"), 0o755); err != nil {
		t.Fatal(err)
	}
	const ref = "vpclab/pause:1"
	file := filepath.Join(dir, "pause.tar")
	if err := WriteSpec(file, Spec{Ref: ref, Files: map[string]string{"/bin/pause": pause}, Entrypoint: []string{"/bin/pause"}}); err != nil {
		t.Fatal(err)
	}
	img, hdrs, contents := readBackRef(t, file, ref)
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cf.Config.Entrypoint, []string{"/bin/pause"}) || cf.OS != "linux" || cf.Architecture != "amd64" {
		t.Errorf("entrypoint %q on %s/%s", cf.Config.Entrypoint, cf.OS, cf.Architecture)
	}
	if contents["/bin/pause"] != "\x7fELF pause" || hdrs["/bin/pause"].Mode != 0o755 {
		t.Errorf("/bin/pause: %q mode %o", contents["/bin/pause"], hdrs["/bin/pause"].Mode)
	}
	if err := WriteSpec(file, Spec{Ref: "Not A Ref!", Files: map[string]string{"/bin/pause": pause}}); err == nil {
		t.Error("a bad reference: want an error")
	}
	if err := WriteSpec(file, Spec{Ref: ref, Files: map[string]string{"/bin/x": filepath.Join(dir, "missing")}}); err == nil {
		t.Error("a missing file: want an error")
	}
}
