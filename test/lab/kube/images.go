package kube

import (
	"fmt"
	"path/filepath"

	"github.com/vpc-cni/vpc-cni/scripts/image/imagebuild"
)

// ImageBinDir is where make builds the lab images' static binaries
// (labpause, labecho; CGO off), under the lab's binary directory.
func ImageBinDir(binDir string) string { return filepath.Join(binDir, "lab-images") }

// Image is one image archive to import into every node.
type Image struct {
	Ref  string
	File string
}

// LabImages writes the pause and echo-server images (each one static
// binary on an empty base) into dir and returns them with vpc-cni's
// image, make image's archive in binDir.
func LabImages(binDir, dir string) ([]Image, error) {
	src := ImageBinDir(binDir)
	specs := []imagebuild.Spec{
		{Ref: PauseImage, Files: map[string]string{"/bin/pause": filepath.Join(src, "labpause")},
			Entrypoint: []string{"/bin/pause"}},
		{Ref: EchoImage, Files: map[string]string{"/bin/labecho": filepath.Join(src, "labecho")},
			Entrypoint: []string{"/bin/labecho"}},
	}
	images := []Image{{Ref: imagebuild.Ref, File: filepath.Join(binDir, "vpc-cni-image.tar")}}
	for _, s := range specs {
		file := filepath.Join(dir, filepath.Base(s.Entrypoint[0])+".tar")
		if err := imagebuild.WriteSpec(file, s); err != nil {
			return nil, fmt.Errorf("image %s: %w (make lab K8S=1 builds its binaries)", s.Ref, err)
		}
		images = append(images, Image{Ref: s.Ref, File: file})
	}
	return images, nil
}
