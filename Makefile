# volctl: make demo, make test. Everything runs through the go command; buf,
# the protoc plugins and staticcheck are pinned in tools/go.mod.
GO      ?= go
TOOL    := $(GO) tool -modfile=tools/go.mod
BIN     := bin
SUMMARY := $(CURDIR)/.test-summary
FUZZTIME ?= 2s

.PHONY: all build demo test unit lint fmt-check vet staticcheck cross gen gen-check fuzz faults bench clean

all: build

build:
	$(GO) build -o $(BIN)/ ./cmd/...

## demo: build, start volctld on a fresh simulated Solaris host, roll back, show.
demo:
	bash scripts/demo.sh

## test: everything CI runs. Keep it under 15 minutes.
test: gen-check lint cross unit fuzz
	@echo "== summary"; cat $(SUMMARY) 2>/dev/null || true

unit:
	@rm -f $(SUMMARY)
	VOLCTL_SUMMARY=$(SUMMARY) $(GO) test -count=1 -timeout 12m ./...
	@cat $(SUMMARY) 2>/dev/null || true

lint: fmt-check vet staticcheck

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

staticcheck:
	$(TOOL) staticcheck ./...

## cross: the daemon and the CLI must build for the platforms they run on.
cross:
	GOOS=solaris $(GO) build ./...
	GOOS=illumos $(GO) build ./...

gen:
	$(TOOL) buf lint
	$(TOOL) buf generate

## gen-check: regenerating the API code must give no diff.
gen-check: gen
	@git diff --exit-code -- proto/ || { echo "generated code is stale: run make gen and commit"; exit 1; }

## fuzz: every fuzz target for a short bounded time.
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$f"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg >/dev/null || { \
	      $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; exit 1; }; \
	  done; \
	done

## faults: just the fault-injection and crash-injection tests, with their summary lines.
faults:
	@rm -f $(SUMMARY)
	VOLCTL_SUMMARY=$(SUMMARY) $(GO) test -count=1 -timeout 12m -run 'TestFaultInjection|TestCrashInjection' ./...
	@cat $(SUMMARY)

## bench: Go benchmarks on the simulated host with a fixed per-command latency.
bench:
	$(GO) test -run '^$$' -bench . -benchtime 10x -timeout 20m ./daemon/...

clean:
	rm -rf $(BIN) $(SUMMARY)
