// Command image writes vpc-cni's container image as a tarball without a
// Docker daemon (scripts/image/imagebuild): `make image` builds the static
// binaries into a directory and runs
//
//	go run ./scripts/image --bin DIR --out bin/vpc-cni-image.tar
//
// The image is tagged imagebuild.Ref, the chart's default image.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/vpc-cni/vpc-cni/scripts/image/imagebuild"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("image", flag.ContinueOnError)
	fs.SetOutput(stderr)
	bin := fs.String("bin", "", "directory holding the static binaries "+fmt.Sprint(imagebuild.Binaries))
	out := fs.String("out", "bin/vpc-cni-image.tar", "the image tarball to write")
	ca := fs.String("ca-bundle", imagebuild.CABundlePath, `CA certificates to carry for ipamd's HTTPS clients ("" for none; skipped with a warning when absent)`)
	if err := fs.Parse(args); err != nil || *bin == "" || fs.NArg() != 0 {
		fmt.Fprintln(stderr, "usage: image --bin DIR [--out FILE] [--ca-bundle FILE]")
		return 2
	}
	in := imagebuild.Input{Binaries: map[string]string{}}
	for _, b := range imagebuild.Binaries {
		in.Binaries[b] = filepath.Join(*bin, b)
	}
	if *ca != "" {
		if _, err := os.Stat(*ca); err == nil {
			in.CABundle = *ca
		} else {
			fmt.Fprintf(stderr, "image: warning: no CA bundle at %s (apt-get install ca-certificates): ipamd in the image cannot verify the EC2 API's certificate\n", *ca)
		}
	}
	if err := imagebuild.Write(*out, in); err != nil {
		fmt.Fprintf(stderr, "image: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "image: wrote %s as %s\n", *out, imagebuild.Ref)
	return 0
}
