#!/usr/bin/env bash
# max-pods-calculator.sh: the value for kubelet's --max-pods on this node,
# for node bootstrap scripts. A thin wrapper over `ipamd max-pods` (see
# `ipamd max-pods -h`); it also takes the flag names of the AWS VPC CNI's
# calculator, so existing bootstrap scripts carry over:
#   --cni-prefix-delegation-enabled   = --prefix-delegation
#   --cni-custom-networking-enabled   = --custom-networking
#   --cni-max-eni N                   = --max-eni N
#   --cni-version V                   ignored (the figure is vpc-cni's)
# IPAMD (env) names the ipamd binary; default: bin/ipamd next to this
# script's checkout, else ipamd on PATH.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
ipamd="${IPAMD:-}"
if [ -z "$ipamd" ]; then
	if [ -x "$here/../bin/ipamd" ]; then
		ipamd="$here/../bin/ipamd"
	elif command -v ipamd >/dev/null; then
		ipamd="$(command -v ipamd)"
	else
		echo "max-pods-calculator.sh: no ipamd binary: run make build, or set IPAMD" >&2
		exit 2
	fi
fi

args=()
while [ $# -gt 0 ]; do
	case "$1" in
	--cni-prefix-delegation-enabled) args+=(--prefix-delegation) ;;
	--cni-custom-networking-enabled) args+=(--custom-networking) ;;
	--cni-max-eni) args+=(--max-eni "${2:?--cni-max-eni needs a value}"); shift ;;
	--cni-version) shift ;;
	*) args+=("$1") ;;
	esac
	shift
done
exec "$ipamd" max-pods "${args[@]}"
