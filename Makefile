# vpc-cni. `make build` puts the binaries in bin/; `make test` runs everything
# a change must pass (CI runs it through .ci/run).

# sudo's PATH often lacks the Go toolchain: fall back to its usual place.
GO       ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)
BIN      := bin
FUZZTIME ?= 10s
# Go minimises each new interesting input for up to 60s by default, during
# which a short run makes no progress: keep minimisation brief.
FUZZMINIMIZETIME ?= 2s
# The plugin runs once per pod start: built static and without grpc's
# x/net/trace, it starts several milliseconds sooner (internal/plugintest
# builds it the same way for the tests and benchmarks).
CNI_BUILD := CGO_ENABLED=0 $(GO) build -tags grpcnotrace
GOFILES   = $(shell find . -name '*.go' -not -path './.cache/*' -not -path './bin/*')

.PHONY: all build test unit fuzz bench lint clean proto proto-check proto-tools lab lab-down lab-check lab-images k8s-tools

all: build

build:
	$(GO) build -o $(BIN)/ ./cloud/sim/cmd/ec2sim ./ipamd ./test/lab/cmd/lab ./test/lab/cmd/labecho
	$(CNI_BUILD) -o $(BIN)/vpc-cni ./cni

# lab: build everything, then bring up a VPC of LAB_NODES nodes on this
# machine (test/lab; settings in the README) and print its report. Root: it
# creates network namespaces. A second run replaces the first. K8S=1: a real
# cluster (kubelet and containerd on every node, ipamd installed by the
# chart); its first build (the Kubernetes binaries, helm, the images) takes
# minutes and is timed apart from the lab's start.
K8S ?= 0
lab: lab-check build
	@if [ "$(K8S)" = 1 ]; then start=$$(date +%s); \
		$(MAKE) --no-print-directory k8s-tools image lab-images || exit 1; \
		echo "make lab: the real cluster's build took $$(( $$(date +%s) - start )) s (cached after the first run)"; fi
	@start=$$(date +%s%N); LAB_K8S=$(K8S) $(BIN)/lab up; rc=$$?; \
	echo "make lab: lab up took $$(( ($$(date +%s%N) - start) / 1000000 )) ms (the build before it is not counted)"; exit $$rc

# k8s-tools: kube-apiserver, kubectl, kubelet, kube-scheduler,
# kube-controller-manager and helm, built from the Go module proxy into
# ~/.cache/vpc-cni (skipped once cached).
k8s-tools:
	scripts/k8s-tools.sh
	test/chart/build-helm.sh

# lab-images: the static binaries of the real cluster's pause and echo
# images (the lab writes the images from them).
lab-images:
	CGO_ENABLED=0 $(GO) build -o $(BIN)/lab-images/ ./test/lab/cmd/labpause ./test/lab/cmd/labecho

# lab-down: remove every namespace, process and file the lab made; also
# after a crash, and when there is no lab.
lab-down: lab-check
	@test -x $(BIN)/lab || $(GO) build -o $(BIN)/ ./test/lab/cmd/lab
	$(BIN)/lab down

lab-check:
	@[ "$$(id -u)" -eq 0 ] || { echo "make $(MAKECMDGOALS): run as root (sudo make $(MAKECMDGOALS)): the lab creates network namespaces" >&2; exit 1; }
	@command -v ip >/dev/null || { echo "make $(MAKECMDGOALS): needs iproute2: apt-get install -y iproute2" >&2; exit 1; }
	@test -x "$(GO)" || command -v "$(GO)" >/dev/null || { echo "make $(MAKECMDGOALS): needs the Go toolchain (go $$(sed -n 's/^go //p' go.mod)) on PATH or in /usr/local/go" >&2; exit 1; }

lint:
	@out=$$(gofmt -l $(GOFILES)); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# test: lint, build, the image (its test reads the archive back), every test
# (unit, integration against ec2sim, the AWS CLI check, the real
# kube-apiserver; privileged ones need root), then a short run of each fuzz
# target.
test: proto-check lint build image lab-images unit fuzz

unit:
	$(GO) test -race -count=1 ./...

# Each fuzz target as package:Target; go test fuzzes one target at a time.
FUZZ_TARGETS := ./cloud/sim:FuzzParseQuery ./ipamd/config:FuzzFromEnviron \
	./ipamd/datastore:FuzzDecodeCheckpoint ./ipamd/pool:FuzzDecide ./cni/config:FuzzParse

fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "fuzz $${t#*:} in $${t%%:*} for $(FUZZTIME)"; \
		$(GO) test -run='^$$' -fuzz="^$${t#*:}$$" -fuzztime=$(FUZZTIME) -fuzzminimizetime=$(FUZZMINIMIZETIME) "$${t%%:*}"; \
	done

# bench: figures next to a reference measured in the same run; no thresholds.
bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./...

clean:
	rm -rf $(BIN)

# proto: the generated Go of proto/ is committed. The generators are pinned
# and built from the Go module proxy into .cache/bin; protoc is Debian's
# protobuf-compiler, whose version is also recorded in the generated headers.
PROTOC             ?= protoc
PROTOC_VERSION     := 3.21.12
PROTO_BIN          := $(CURDIR)/.cache/bin
PROTOC_GEN_GO      := google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
PROTOC_GEN_GO_GRPC := google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.1
PROTO_FILES        := ipam/v1/ipam.proto
# proto-gen,<output dir>: run protoc with the pinned plugins.
proto-gen = $(PROTOC) -I proto \
	--plugin=protoc-gen-go=$(PROTO_BIN)/protoc-gen-go \
	--plugin=protoc-gen-go-grpc=$(PROTO_BIN)/protoc-gen-go-grpc \
	--go_out=$(1) --go_opt=paths=source_relative \
	--go-grpc_out=$(1) --go-grpc_opt=paths=source_relative \
	$(PROTO_FILES)

# proto-tools: build each pinned plugin unless the cached one already
# reports that version.
proto-tools:
	@command -v $(PROTOC) >/dev/null || { echo "proto: $(PROTOC) not found: apt-get install protobuf-compiler (or run .ci/run)" >&2; exit 1; }
	@v=$$($(PROTOC) --version); case "$$v" in *" $(PROTOC_VERSION)") ;; \
		*) echo "proto: warning: $$v found, the committed code was generated with protoc $(PROTOC_VERSION) (Debian bookworm's protobuf-compiler): headers will differ" >&2 ;; esac
	@set -e; for m in $(PROTOC_GEN_GO) $(PROTOC_GEN_GO_GRPC); do \
		name=$${m%@*}; name=$${name##*/}; ver=$${m##*@}; \
		have=$$($(PROTO_BIN)/$$name --version 2>/dev/null || true); \
		case "$$have" in *" $$ver"|*" $${ver#v}") ;; \
			*) echo "proto: installing $$m into $(PROTO_BIN)"; GOBIN=$(PROTO_BIN) $(GO) install $$m ;; esac; \
	done

# proto: regenerate the committed Go from proto/.
proto: proto-tools
	$(call proto-gen,proto)

# proto-check: regenerate into a temporary directory and compare with the
# committed files; fails when they are stale.
proto-check: proto-tools
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(call proto-gen,$$tmp) || exit 1; \
	stale=0; for f in $$(cd "$$tmp" && find . -name '*.go' | sed 's,^\./,,' | sort); do \
		cmp -s "$$tmp/$$f" "proto/$$f" || { echo "proto: stale or missing: proto/$$f" >&2; diff -u "proto/$$f" "$$tmp/$$f" | head -40 >&2; stale=1; }; \
	done; \
	for f in $$(find proto -name '*.pb.go' | sort); do \
		[ -e "$$tmp/$${f#proto/}" ] || { echo "proto: generated file with no source: $$f" >&2; stale=1; }; \
	done; \
	if [ $$stale -ne 0 ]; then echo "proto: the generated Go is stale: run 'make proto' and commit the result" >&2; exit 1; fi; \
	echo "proto: generated Go is up to date"

# image: the container image as a tarball, without a Docker daemon: the
# static binaries (CGO off; with the CNI loopback plugin of
# containernetworking/plugins, the version go.mod pins) on an empty base,
# ipamd the entrypoint, tagged
# as the chart's default image (scripts/image; ctr -n k8s.io images import
# or docker load reads it).
.PHONY: image
IMAGE_BIN := $(BIN)/image
image:
	CGO_ENABLED=0 $(GO) build -o $(IMAGE_BIN)/ ./ipamd ./scripts/image/vpc-cni-node \
		github.com/containernetworking/plugins/plugins/main/loopback
	$(CNI_BUILD) -o $(IMAGE_BIN)/vpc-cni ./cni
	$(GO) run ./scripts/image --bin $(IMAGE_BIN) --out $(BIN)/vpc-cni-image.tar
