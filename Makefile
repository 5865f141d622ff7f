# The README's two commands: `make run` and `make test`.
GO ?= go
FUZZTIME ?= 10s

.PHONY: run build test test-go fuzz test-convex vet

## run: start the service on the embedded store (simulated upstream without OPENROUTER_API_KEY)
run:
	$(GO) run ./cmd/llmmeter serve

## build: build the binaries into bin/
build:
	$(GO) build -o bin/ ./cmd/...

## test: every test in the repo
test: vet test-go fuzz test-convex

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './convex/*'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) vet ./...

test-go:
	$(GO) test -race -count=1 -timeout 20m ./...

## fuzz: a short run of the SSE stream parser's fuzz target
fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzStream -fuzztime=$(FUZZTIME) ./openrouter/

convex/node_modules/.installed: convex/package-lock.json
	cd convex && npm ci --no-audit --no-fund
	touch $@

test-convex: convex/node_modules/.installed
	cd convex && npm test
