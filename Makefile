# The README's two commands: `make run` and `make test`.
GO ?= go
FUZZTIME ?= 10s

.PHONY: run build test test-go fuzz test-convex check-generated vet bench bench-convex bench-explorer portal test-portal e2e-portal faults

## run: start the service on the embedded store (simulated upstream without OPENROUTER_API_KEY);
## builds the admin portal first when it is missing (the service runs without it if npm fails)
run:
	@test -f portal/dist/index.html || $(MAKE) portal || echo "portal build failed: the service runs without /admin"
	$(GO) run ./cmd/llmmeter serve

## build: build the binaries into bin/
build:
	$(GO) build -o bin/ ./cmd/...

## test: every test in the repo
test: vet test-go fuzz test-convex test-portal e2e-portal

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path '*/node_modules/*'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) vet ./...

# The race detector enlarges every frame, so the stack an open stream holds
# is checked by a build without it as well (issue 15's memory per stream).
test-go: node_modules/.installed
	$(GO) test -race -count=1 -timeout 45m ./...
	$(GO) test -count=1 -run '^TestOpenStreamStacks$$' ./internal/app/

## fuzz: a short run of the SSE stream parser's fuzz target
fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzStream -fuzztime=$(FUZZTIME) ./openrouter/

node_modules/.installed: package-lock.json
	npm ci --no-audit --no-fund
	touch $@

## test-convex: the Convex functions' tests, then that they bundle for deploy and that the
## committed convex/_generated is what codegen makes from them (both offline); first, that the
## library's sources type-check as an installing app may compile them: stricter flags, no @types/node
test-convex: node_modules/.installed
	npx tsc -p packages/convex/tsconfig.strict.json
	npm test
	npm run check:bundle
	$(MAKE) check-generated

## check-generated: regenerate the _generated folders of convex/ and the example app (offline)
## in place and fail if they changed
check-generated: node_modules/.installed
	@for app in . examples/chat-app; do \
		rm -rf .generated-before && cp -R $$app/convex/_generated .generated-before && \
		(cd $$app && npx convex codegen --system-udfs --typecheck disable) || exit 1; \
		if diff -r .generated-before $$app/convex/_generated; then rm -rf .generated-before; else rm -rf .generated-before; \
			echo "$$app/convex/_generated is not current: it differs from what 'npx convex codegen --system-udfs --typecheck disable' makes there (diff above; the regenerated files are now in place). Commit them."; exit 1; fi; \
	done

portal/node_modules/.installed: portal/package-lock.json
	cd portal && npm ci --no-audit --no-fund
	touch $@

## portal: build the admin portal into portal/dist (served at /admin); its type check reads the
## Convex app (convex/), whose library comes from the root workspace's node_modules
portal: node_modules/.installed portal/node_modules/.installed
	cd portal && npm run build

test-portal: portal/node_modules/.installed
	cd portal && npm test

## e2e-portal: the portal in Debian's Chromium against the service with demo data
e2e-portal: portal
	cd portal && npm run e2e

## bench: data-path benchmarks (go test -bench) and the end-to-end load run (cmd/llmbench); see BENCHMARKS.md
BENCH_ROLLUP_ROWS ?= 10000000
BENCH_ADMIN_ROWS ?= 10000000
bench:
	BENCH_ROLLUP_ROWS=$(BENCH_ROLLUP_ROWS) BENCH_ADMIN_ROWS=$(BENCH_ADMIN_ROWS) $(GO) test -run='^$$' -timeout 60m -benchtime=1x \
		-bench='^Benchmark(RollupRecompute|AdminFunctions)$$' ./jobs/ ./internal/store/sqlitestore/ | tee bench-go.txt
	$(GO) test -run='^$$' -timeout 10m -benchtime=20000x -bench='^BenchmarkOutboxToStore$$' ./internal/outbox/ | tee -a bench-go.txt
	$(GO) test -run='^$$' -timeout 10m -benchtime=3000x -bench='^BenchmarkPutDurable$$' ./internal/outbox/ | tee -a bench-go.txt
	$(GO) test -run='^$$' -timeout 10m -benchtime=30x -bench='^BenchmarkIngest$$' ./internal/store/sqlitestore/ | tee -a bench-go.txt
	$(GO) test -run='^$$' -timeout 10m -benchtime=1000x -bench='^BenchmarkWarmAdmitSlowStore$$' ./internal/quotalease/ | tee -a bench-go.txt
	$(GO) run ./cmd/llmbench -gobench bench-go.txt -out bench-results.md

## bench-explorer: the Requests page on the embedded engine: a CSV export of 1M request logs in
## bounded memory (make test exports 5,000), and llmmeter:requestLogs with each filter over
## BENCH_EXPLORER_ROWS request logs (see BENCHMARKS.md)
BENCH_EXPLORER_ROWS ?= 10000000
bench-explorer:
	LLMMETER_EXPORT_ROWS=1000000 $(GO) test -count=1 -v -timeout 60m -run '^TestExportBoundedMemory$$' ./internal/adminapi/
	BENCH_EXPLORER_ROWS=$(BENCH_EXPLORER_ROWS) $(GO) test -run='^$$' -timeout 90m -benchtime=1x -bench='^BenchmarkRequestLogs$$' ./internal/store/sqlitestore/

## bench-convex: the admin functions' reads (docs, bytes, ms) at the full issue 14 profile under
## convex-test's transaction limits, over the period summaries; fails above 4,000 docs / 4 MiB; npm test runs 1/10
bench-convex: node_modules/.installed
	BENCH_CONVEX_SCALE=1 npx vitest run convex/adminBench.test.ts 2>&1 | tee bench-convex.txt

## faults: the full fault matrix of issue 12 (kill -9, Convex outages, upstream faults, SIGTERM,
## a full disk) on both engines; writes faults-results.md and fails on any loss. The short matrix
## runs in `make test` (go test ./internal/faults/).
faults: node_modules/.installed
	FAULTS=full FAULTS_REPORT=$(CURDIR)/faults-results.md $(GO) test -count=1 -v -timeout 90m -run '^TestFaultMatrix$$' ./internal/faults/
