# vpc-cni. `make build` puts the binaries in bin/; `make test` runs everything
# a change must pass (CI runs it through .ci/run).

GO       ?= go
BIN      := bin
FUZZTIME ?= 15s
# Go minimises each new interesting input for up to 60s by default, during
# which a short run makes no progress: keep minimisation brief.
FUZZMINIMIZETIME ?= 2s
GOFILES   = $(shell find . -name '*.go' -not -path './.cache/*' -not -path './bin/*')

.PHONY: all build test unit fuzz bench lint clean

all: build

build:
	$(GO) build -o $(BIN)/ ./cloud/sim/cmd/ec2sim

lint:
	@out=$$(gofmt -l $(GOFILES)); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# test: lint, build, every test (unit, integration against ec2sim, the AWS CLI
# check; privileged ones need root), then a short run of each fuzz target.
test: lint build unit fuzz

unit:
	$(GO) test -race -count=1 ./...

fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzParseQuery$$' -fuzztime=$(FUZZTIME) -fuzzminimizetime=$(FUZZMINIMIZETIME) ./cloud/sim

# bench: figures next to a reference measured in the same run; no thresholds.
bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./...

clean:
	rm -rf $(BIN)
