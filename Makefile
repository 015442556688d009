# Caldicott — see README.md. Two commands set everything up:
#   make run    a local demo federation (two Dendrites + two Caldicotts)
#   make test   the whole suite, against real Dendrite and PostgreSQL

GO ?= go
# goolm: mautrix-go's pure-Go Olm, so end-to-end encryption needs no libolm/cgo.
TAGS := -tags goolm
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.Version=$(VERSION)

.PHONY: build run test fuzz bench lint tidy-check deps dendrite clean

build:
	$(GO) build $(TAGS) -trimpath -ldflags "$(LDFLAGS)" -o bin/caldicott ./cmd/caldicott

# Installs what the suite needs from Debian when missing (PostgreSQL 15, slapd, Chromium).
deps:
	bash scripts/ensure-deps.sh

dendrite:
	bash scripts/build-dendrite.sh >/dev/null

# make run PAIR=1: Trust A as two Caldicotts on a throwaway PostgreSQL
# behind a round-robin proxy, for trying failover by hand (scripts/demo/pair.go).
run: build dendrite $(if $(PAIR),deps)
	$(GO) run ./scripts/demo$(if $(PAIR), -pair)

test: tidy-check deps dendrite
	$(GO) vet $(TAGS) ./...
	$(GO) test $(TAGS) -count=1 -timeout 60m ./...
	GO=$(GO) bash scripts/fuzz.sh

# Every fuzz target for FUZZTIME each, one after another (make test runs
# each briefly). A failing input lands in the package's testdata/fuzz/.
FUZZTIME ?= 2m
fuzz:
	GO=$(GO) FUZZTIME=$(FUZZTIME) bash scripts/fuzz.sh

# Every package's quick benchmarks. -short skips the long scenarios in
# bench/ (minutes to hours each on real Dendrites); docs/benchmarks.md says
# how to run one, sized by -bench.* flags, e.g.
#   go test -tags goolm -run '^$$' -bench IdentityReset -benchtime 1x ./bench -bench.samples=3
bench: deps dendrite
	$(GO) test $(TAGS) -short -run '^$$' -bench . -benchmem ./...

# Fails, printing the difference, when go.mod or go.sum is not what
# `go mod tidy` would write (a direct import marked // indirect, a stale
# checksum). Changes nothing; fix with `go mod tidy`. Works offline once the
# module cache holds the dependencies (GOPROXY=off).
tidy-check:
	@$(GO) mod tidy -diff || (echo "go.mod/go.sum are not tidy: run 'go mod tidy' and commit the result"; exit 1)

# Besides gofmt, vet and staticcheck: the shape checks that read the code
# (internal/structure, a second or so): imports as docs/architecture.md
# allows, the executor the only writer, no function over 80 lines, doc
# comments that name what they document.
lint: tidy-check
	gofmt -l . | (! grep .) || (echo "gofmt needed on the files above"; exit 1)
	$(GO) vet $(TAGS) ./...
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 $(TAGS) ./...
	$(GO) test $(TAGS) -count=1 ./internal/structure

clean:
	rm -rf bin .demo .demo-pair
