# Caldicott — see README.md. Two commands set everything up:
#   make run    a local demo federation (two Dendrites + two Caldicotts)
#   make test   the whole suite, against real Dendrite and PostgreSQL

GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.Version=$(VERSION)

.PHONY: build run test bench lint deps dendrite clean

build:
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/caldicott ./cmd/caldicott

# Installs what the suite needs from Debian when missing (PostgreSQL 15).
deps:
	bash scripts/ensure-deps.sh

dendrite:
	bash scripts/build-dendrite.sh >/dev/null

run: build dendrite
	$(GO) run ./scripts/demo

test: deps dendrite
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...

bench: deps dendrite
	$(GO) test -run '^$$' -bench . -benchmem ./...

lint:
	gofmt -l . | (! grep .) || (echo "gofmt needed on the files above"; exit 1)
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

clean:
	rm -rf bin .demo
