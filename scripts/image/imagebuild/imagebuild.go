// Package imagebuild builds vpc-cni's container image without a Docker
// daemon: the static binaries as the one layer of an empty base, ipamd as
// the entrypoint, written as a tarball `ctr images import` and `docker
// load` read. The chart's default image is Ref.
package imagebuild

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Version is vpc-cni's release; the image's tag and the chart's appVersion.
const Version = "0.7.0"

// Repository is the image's name without the tag.
const Repository = "vpc-cni/vpc-cni"

// Ref is the image's full name, the chart's default image.
const Ref = Repository + ":" + Version

// BinDir is where the binaries are in the image; Entrypoint runs ipamd.
const BinDir = "/bin"

// Entrypoint is the image's entrypoint.
var Entrypoint = []string{BinDir + "/ipamd"}

// Binaries the image must carry, by their name in BinDir: the daemon, the
// plugin, the chart's helper, and the CNI loopback plugin
// (containernetworking/plugins), which containerd needs for every sandbox
// and the init container installs where the node has none.
var Binaries = []string{"ipamd", "vpc-cni", "vpc-cni-node", "loopback"}

// CABundlePath is where the image carries the CA certificates ipamd's
// HTTPS client (EC2, instance metadata) reads.
const CABundlePath = "/etc/ssl/certs/ca-certificates.crt"

// ErrMissingBinary is returned when a required binary is not given.
var ErrMissingBinary = errors.New("missing binary")

// Input is what goes into the image: each binary's file on this machine
// by its name in BinDir, and an optional CA bundle file.
type Input struct {
	Binaries map[string]string
	CABundle string // "" for none
}

// epoch is every file's and the image's time: the same input gives the
// same image.
var epoch = time.Unix(0, 0).UTC()

// Build returns the image of in: one layer, linux/amd64, ipamd as the
// entrypoint.
func Build(in Input) (v1.Image, error) {
	files := map[string]string{} // path in the image → file here
	for _, b := range Binaries {
		src, ok := in.Binaries[b]
		if !ok {
			return nil, fmt.Errorf("%w: %s (build it with CGO_ENABLED=0 first: make image)", ErrMissingBinary, b)
		}
		files[path.Join(BinDir, b)] = src
	}
	for b, src := range in.Binaries {
		files[path.Join(BinDir, b)] = src
	}
	if in.CABundle != "" {
		files[CABundlePath] = in.CABundle
	}
	return BuildSpec(Spec{Ref: Ref, Files: files, Entrypoint: Entrypoint,
		Labels: map[string]string{"org.opencontainers.image.version": Version}})
}

// Spec is any image of static files on an empty base: the lab builds its
// pause and echo-server images with it.
type Spec struct {
	// Ref is the image's name and tag.
	Ref string
	// Files are the image's files (absolute path in the image) and the
	// local file each is read from; files in BinDir are executable.
	Files map[string]string
	// Entrypoint is the image's entrypoint; PATH is BinDir.
	Entrypoint []string
	Labels     map[string]string
}

// BuildSpec returns the image of spec: one layer, linux/amd64.
func BuildSpec(spec Spec) (v1.Image, error) {
	layerTar, err := layerOf(spec.Files)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	})
	if err != nil {
		return nil, fmt.Errorf("image layer: %w", err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return nil, fmt.Errorf("image: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("image config: %w", err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Created = "linux", "amd64", v1.Time{Time: epoch}
	cf.Config.Entrypoint = spec.Entrypoint
	cf.Config.Env = []string{"PATH=" + BinDir}
	cf.Config.Labels = spec.Labels
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("image config: %w", err)
	}
	return img, nil
}

// layerOf is a tar of files (image path → local file) with their parent
// directories, in path order, owned by root, binaries 0755 and other files
// 0644.
func layerOf(files map[string]string) ([]byte, error) {
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	for _, p := range paths {
		if err := addDirs(tw, dirs, path.Dir(p)); err != nil {
			return nil, err
		}
		b, err := os.ReadFile(files[p])
		if err != nil {
			return nil, fmt.Errorf("image file %s: %w", p, err)
		}
		mode := int64(0o644)
		if path.Dir(p) == BinDir {
			mode = 0o755
		}
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: p[1:], Mode: mode, Size: int64(len(b)), ModTime: epoch, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("image layer: %w", err)
		}
		if _, err := tw.Write(b); err != nil {
			return nil, fmt.Errorf("image layer: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("image layer: %w", err)
	}
	return buf.Bytes(), nil
}

// addDirs writes the entries of dir and its parents not yet written.
func addDirs(tw *tar.Writer, done map[string]bool, dir string) error {
	if dir == "/" || done[dir] {
		return nil
	}
	if err := addDirs(tw, done, path.Dir(dir)); err != nil {
		return err
	}
	done[dir] = true
	hdr := &tar.Header{Typeflag: tar.TypeDir, Name: dir[1:] + "/", Mode: 0o755, ModTime: epoch, Format: tar.FormatPAX}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("image layer: %w", err)
	}
	return nil
}

// Write builds the image of in and writes it to file as a tarball tagged
// Ref.
func Write(file string, in Input) error {
	img, err := Build(in)
	if err != nil {
		return err
	}
	return writeImage(file, Ref, img)
}

// WriteSpec builds the image of spec and writes it to file as a tarball
// tagged spec.Ref.
func WriteSpec(file string, spec Spec) error {
	img, err := BuildSpec(spec)
	if err != nil {
		return err
	}
	return writeImage(file, spec.Ref, img)
}

func writeImage(file, ref string, img v1.Image) error {
	tag, err := name.NewTag(ref)
	if err != nil {
		return fmt.Errorf("image name %s: %w", ref, err)
	}
	if err := tarball.WriteToFile(file, tag, img); err != nil {
		return fmt.Errorf("write %s: %w", file, err)
	}
	return nil
}
