#!/usr/bin/env bash
# build-helm.sh: build the pinned helm (test/chart/tools/go.mod) from the Go
# module proxy into a cache outside the repository, where test/chart finds
# it; skipped when the cached one already reports that version. Prints the
# binary's path on its last line. A cold build takes a few minutes.
set -euo pipefail

version=v3.17.4
root="$(cd "$(dirname "$0")/../.." && pwd)"
dir="${XDG_CACHE_HOME:-$HOME/.cache}/vpc-cni/helm-$version"
go="$(command -v go 2>/dev/null || echo /usr/local/go/bin/go)"

mkdir -p "$dir"
exec 9>"$dir/lock"
flock 9
if "$dir/helm" version --short 2>/dev/null | grep -qx "$version"; then
	echo "build-helm: helm $version already in $dir"
	echo "$dir/helm"
	exit 0
fi
# As helm's Makefile: the version, and the Kubernetes version helm
# template assumes from its client-go (v0.32 = Kubernetes 1.32).
ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$version -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
	ldflags="$ldflags -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=32"
done
echo "build-helm: building helm $version into $dir"
(
	cd "$root/test/chart/tools"
	CGO_ENABLED=0 GOWORK=off GOFLAGS=-buildvcs=false "$go" build -trimpath \
		-ldflags "$ldflags" \
		-o "$dir/helm.new" helm.sh/helm/v3/cmd/helm
)
mv "$dir/helm.new" "$dir/helm"
"$dir/helm" version --short
echo "$dir/helm"
