#!/usr/bin/env bash
# k8s-tools.sh: build kube-apiserver, kubectl, kubelet, kube-scheduler and
# kube-controller-manager of the pinned Kubernetes release from the Go
# module proxy into a cache outside the repository (it survives fresh
# clones), for the real-apiserver tests (test/k8s) and the lab's real
# cluster (make lab K8S=1).
# Skipped when the cached binaries already report that release. Prints the
# bin directory on its last line.
#
#   scripts/k8s-tools.sh           build if needed
#   K8S_TOOLS_DIR=/x scripts/k8s-tools.sh   another cache directory
#
# k8s.io/kubernetes is built through the wrapper module test/k8s/tools
# (its go.mod pins each staging module), from a copy in the cache so the
# repository stays clean, with GOFLAGS=-mod=mod and never go mod tidy. A
# cold build takes several minutes; the Go build cache makes later ones
# quick. test/k8s finds the binaries in the same directory.
set -euo pipefail

version=v1.32.13
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="${K8S_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/vpc-cni/k8s-$version}"
bin="$dir/bin"
go="$(command -v go 2>/dev/null || echo /usr/local/go/bin/go)"

cmds=(kube-apiserver kubectl kubelet kube-scheduler kube-controller-manager)

current() {
	local c out
	for c in "${cmds[@]}"; do
		[ -x "$bin/$c" ] || return 1
		# Whole outputs first: grep -q stopping early would fail the pipe.
		if [ "$c" = kubectl ]; then
			out="$("$bin/$c" version --client 2>/dev/null)" || return 1
			grep -qx "Client Version: $version" <<<"$out" || return 1
		else
			out="$("$bin/$c" --version 2>/dev/null)" || return 1
			grep -qx "Kubernetes $version" <<<"$out" || return 1
		fi
	done
}

mkdir -p "$dir"
# One build at a time per cache directory.
exec 9>"$dir/lock"
flock 9

if current; then
	echo "k8s-tools: ${cmds[*]} $version already in $bin"
	echo "$bin"
	exit 0
fi

src="$dir/src"
rm -rf "$src" "$dir/bin.new"
mkdir -p "$src" "$dir/bin.new"
cp "$root/test/k8s/tools/go.mod" "$src/"
[ ! -f "$root/test/k8s/tools/go.sum" ] || cp "$root/test/k8s/tools/go.sum" "$src/"

minor="${version#v1.}"
minor="${minor%%.*}"
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
	ldflags="$ldflags -X $pkg.gitVersion=$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
done

echo "k8s-tools: building ${cmds[*]} $version into $bin (several minutes when cold)"
start=$(date +%s)
(
	cd "$src"
	CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false" GOWORK=off \
		"$go" build -trimpath -ldflags "$ldflags" -o "$dir/bin.new/" \
		$(printf 'k8s.io/kubernetes/cmd/%s ' "${cmds[@]}")
)
rm -rf "$bin"
mv "$dir/bin.new" "$bin"
if ! current; then
	echo "k8s-tools: the binaries built in $bin do not report $version" >&2
	exit 1
fi
echo "k8s-tools: built in $(( $(date +%s) - start ))s"
echo "$bin"
