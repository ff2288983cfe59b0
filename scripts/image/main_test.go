package main

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/vpc-cni/vpc-cni/scripts/image/imagebuild"
)

// TestImageOfRealBinaries reads back the archive make image wrote (it
// builds the binaries static, CGO off): one layer, ipamd as the entrypoint,
// each binary a static linux/amd64 executable. make test builds the image
// first; run alone before make image, the test is skipped (building ipamd
// inside a test takes minutes on a loaded machine), except with CI=true.
func TestImageOfRealBinaries(t *testing.T) {
	file := filepath.Join("..", "..", "bin", "vpc-cni-image.tar")
	if _, err := os.Stat(file); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no %s: make test builds it (make image) before the tests: %v", file, err)
		}
		t.Skipf("no %s: run make image first (%v)", file, err)
	}
	tag, _ := name.NewTag(imagebuild.Ref)
	img, err := tarball.ImageFromPath(file, &tag)
	if err != nil {
		t.Fatalf("read back: %v", err)
	}
	layers, _ := img.Layers()
	if len(layers) != 1 {
		t.Fatalf("%d layers, want 1", len(layers))
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cf.Config.Entrypoint, []string{"/bin/ipamd"}) || cf.OS != "linux" || cf.Architecture != "amd64" {
		t.Errorf("entrypoint %q on %s/%s, want [/bin/ipamd] on linux/amd64", cf.Config.Entrypoint, cf.OS, cf.Architecture)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	found := map[string]bool{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(h.Name, "bin/") || h.Typeflag != tar.TypeReg {
			continue
		}
		b, _ := io.ReadAll(tr)
		found[strings.TrimPrefix(h.Name, "bin/")] = true
		checkStatic(t, h.Name, b)
	}
	for _, b := range imagebuild.Binaries {
		if !found[b] {
			t.Errorf("no bin/%s in the image", b)
		}
	}
}

// checkStatic fails unless b is an amd64 ELF executable without a dynamic
// loader.
func checkStatic(t *testing.T, name string, b []byte) {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		t.Errorf("%s: not an ELF file: %v", name, err)
		return
	}
	if f.Machine != elf.EM_X86_64 {
		t.Errorf("%s: machine %v, want x86-64", name, f.Machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s: dynamically linked (has an interpreter): build it with CGO_ENABLED=0", name)
		}
	}
}

func TestUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(nil, &out, &errb); code != 2 {
		t.Errorf("no --bin: exit %d, want 2", code)
	}
	errb.Reset()
	if code := run([]string{"--bin", t.TempDir(), "--out", filepath.Join(t.TempDir(), "x.tar"), "--ca-bundle", ""}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "/bin/ipamd") {
		t.Errorf("empty bin dir: exit %d, %q", code, errb.String())
	}
}

// TestWriteFakeBinaries runs the command over small files standing for
// the binaries and reads the archive back.
func TestWriteFakeBinaries(t *testing.T) {
	bin := t.TempDir()
	for _, b := range imagebuild.Binaries {
		if err := os.WriteFile(filepath.Join(bin, b), []byte(b), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(t.TempDir(), "image.tar")
	var out, errb bytes.Buffer
	if code := run([]string{"--bin", bin, "--out", file, "--ca-bundle", filepath.Join(bin, "absent.crt")}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(errb.String(), "no CA bundle") {
		t.Errorf("absent CA bundle not warned about: %q", errb.String())
	}
	tag, _ := name.NewTag(imagebuild.Ref)
	img, err := tarball.ImageFromPath(file, &tag)
	if err != nil {
		t.Fatalf("read back as %s: %v", imagebuild.Ref, err)
	}
	if layers, _ := img.Layers(); len(layers) != 1 {
		t.Errorf("%d layers, want 1", len(layers))
	}
}
