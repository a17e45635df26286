# volctl: make demo, make test. Everything runs through the go command; buf,
# the protoc plugins and staticcheck are pinned in tools/go.mod.
GO      ?= go
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/volctl/volctl/daemon.Version=$(VERSION) -X github.com/volctl/volctl/client/cli.Version=$(VERSION)
PREFIX  ?= /usr
DESTDIR ?=
TOOL    := $(GO) tool -modfile=tools/go.mod
BIN     := bin
SUMMARY := $(CURDIR)/.test-summary
FUZZTIME ?= 2s

.PHONY: breaking all build demo demo-keep demo-rescue demo-two-hosts demo-linux test deps unit lint fmt-check vet staticcheck cross gen gen-check fuzz faults bench e2e-linux install man clean

# As root (CI) the Linux end-to-end tests must run, not skip.
ifeq ($(shell id -u),0)
E2E_ENV := VOLCTL_E2E_REQUIRED=1
endif

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/ ./cmd/volctld ./cmd/volctl ./cmd/volctl-sim
	@# The resident simulator's stub (volctl-sim serve, docs/simulator.md): without the C library where it
	@# can be (x86-64 Linux), else static, else dynamic: the flags of sim.StubBuilds.
	@$(CC) -O2 -static -no-pie -nostdlib -ffreestanding -fno-stack-protector -fno-tree-loop-distribute-patterns -DSTUB_NOLIBC \
		-o $(BIN)/volctl-sim-stub sim/stub/stub.c 2>/dev/null || \
		$(CC) -O2 -static -o $(BIN)/volctl-sim-stub sim/stub/stub.c 2>/dev/null || $(CC) -O2 -o $(BIN)/volctl-sim-stub sim/stub/stub.c || \
		echo "build: no C compiler ($(CC)): volctl-sim serve is unavailable; the simulated commands run as processes of their own"

## demo: build, start volctld on a fresh simulated Solaris host, roll back, show.
demo:
	bash scripts/demo.sh

## demo-keep: a rollback that keeps what it replaces (--keep), kept, undo and forget, checked step by step.
demo-keep:
	bash scripts/demo-keep.sh

## demo-rescue: a kernel zone whose root pool label a global-zone import broke: check-boot says why, rescue repairs it, it boots.
demo-rescue:
	bash scripts/demo-rescue.sh

## demo-two-hosts: the same rollback with kz1 on a zone host: a volctld on each, peers over mutual TLS.
demo-two-hosts:
	bash scripts/demo-two-hosts.sh

## demo-linux: the same story on the real stack (root: zfs-fuse, tgtd, iSCSI on loopback).
demo-linux: deps
	VOLCTL_E2E_REQUIRED=1 $(GO) test -count=1 -v -run 'TestE2EDaemonCLI' ./daemon/linuxtgt/

## test: everything CI runs. Keep it under 15 minutes.
test: deps gen-check breaking lint cross unit fuzz
	@echo "== summary"; cat $(SUMMARY) 2>/dev/null || true

## deps: the Debian packages of the Linux end-to-end tests (as root; otherwise they skip, loudly).
deps:
	@if [ "$$(id -u)" = 0 ]; then bash scripts/linux-deps.sh; \
	else echo "deps: not root: the Linux end-to-end tests (zfs-fuse, tgtd, iSCSI) will SKIP; run make test as root to run them"; fi

## unit: every package's tests. The keep, undo and rescue fault and crash
## suites run a sample there (VOLCTL_FAULT_SAMPLE=16: every 16th case, the
## same ones each run, the tally says so) to keep make test within 15
## minutes on two cores; make faults runs them whole.
unit:
	@rm -f $(SUMMARY)
	VOLCTL_FAULT_SAMPLE=16 VOLCTL_SUMMARY=$(SUMMARY) $(E2E_ENV) $(GO) test -count=1 -timeout 12m ./...
	@cat $(SUMMARY) 2>/dev/null || true

## e2e-linux: just the Linux end-to-end tests; fails (not skips) when they cannot run.
e2e-linux: deps
	VOLCTL_E2E_REQUIRED=1 $(GO) test -count=1 -timeout 10m -run 'TestRealStack|TestE2E|TestStack' ./internal/linuxstack/ ./daemon/linuxtgt/

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

## breaking: the API must stay compatible with the last release's
## (proto/releases/LAST.binpb, a buf image of it; a new release adds its own).
RELEASE_IMAGE := $(lastword $(sort $(wildcard proto/releases/v*.binpb)))
breaking:
	$(TOOL) buf breaking --against $(RELEASE_IMAGE)

## gen-check: regenerating the API code must give no diff.
gen-check: gen
	@git diff --exit-code -- proto/ || { echo "generated code is stale: run make gen and commit"; exit 1; }

## fuzz: every fuzz target for a short bounded time. A finding writes its
## input under testdata/fuzz and fails; a fuzzing run that dies without a
## finding (the engine's worker timing out on a loaded machine) is retried once.
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$f"; \
	    dir=$$($(GO) list -f '{{.Dir}}' $$pkg); \
	    if ! $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg > .fuzz.log 2>&1; then \
	      cat .fuzz.log; \
	      if [ -d "$$dir/testdata/fuzz/$$f" ] && [ -n "$$(git -C $$dir status --porcelain testdata/fuzz/$$f)" ]; then \
	        echo "fuzz: $$f found a failing input (see testdata/fuzz/$$f)"; rm -f .fuzz.log; exit 1; fi; \
	      echo "fuzz: $$f died without a finding; retrying once"; \
	      $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || { rm -f .fuzz.log; exit 1; }; \
	    fi; \
	  done; \
	done; rm -f .fuzz.log

## faults: just the fault-injection and crash-injection tests, on every flavor
## (solaris-11.4 and illumos), on the peer side (two hosts, two daemons),
## over the group saga (a zone's two disks), for a keep rollback and an
## undo (each flavor) and for the rescue (solaris-11.4), with their eighteen summary lines; printed even when a case fails, and a
## missing tally is a failure. As root with the Linux stack installed
## (scripts/linux-deps.sh) two more: keep-fault-injection[linux-tgt] and
## keep-crash-injection[linux-tgt], the keep rollback and undo on the real
## zfs-fuse + tgtd (TestFaultInjectionKeepLinux, TestCrashInjectionKeepLinux).
## The simulated hosts' resident simulators check every state cache hit
## against the file here (VOLCTL_SIM_CACHE_CHECK=1, docs/simulator.md).
FAULT_RUN := VOLCTL_SIM_CACHE_CHECK=1 VOLCTL_SUMMARY=$(SUMMARY) $(GO) test -count=1 -timeout 30m -run 'TestFaultInjection|TestCrashInjection|TestPeerFaultInjection|TestPeerCrashInjection|TestGroupFaultInjection|TestGroupCrashInjection|TestKeepFaultInjection|TestKeepCrashInjection|TestRescueFaultInjection|TestRescueCrashInjection|TestRescueShellCrashInjection' ./...
faults:
	@rm -f $(SUMMARY)
	@echo "$(FAULT_RUN)"; rc=0; $(FAULT_RUN) || rc=$$?; \
	echo "== fault summary"; cat $(SUMMARY) 2>/dev/null; \
	want=19; if [ "$$(id -u)" -eq 0 ] && [ -x /usr/sbin/zfs-fuse ] && [ -x /usr/sbin/tgtd ]; then want=21; fi; \
	n=$$(grep -sE '^(fault|crash)-injection\[|^(peer|group)-(fault|crash)-injection:|^(keep|undo|rescue|rescue-shell)-(fault|crash)-injection\[' $(SUMMARY) | wc -l); \
	if [ "$$n" -ne "$$want" ]; then echo "faults: $$n tallies, want $$want (fault- and crash-injection on solaris-11.4 and illumos, peer-fault, peer-crash, group-fault, group-crash, keep- and undo-fault and -crash on each flavor, rescue-fault, rescue-crash and rescue-shell-crash on solaris-11.4; keep-fault- and keep-crash-injection[linux-tgt] as root on the Linux stack)"; rc=1; fi; \
	exit $$rc

## bench: Go benchmarks on the simulated host with a fixed per-command latency, then
## issue 24's figures from that one run as ratios against their targets
## (cmd/volctl-benchtable); fails when a target is missed or a figure is missing.
BENCHTIME ?= 3x
bench:
	@rm -f .bench-rc; { $(GO) test -run '^$$' -bench . -benchtime $(BENCHTIME) -timeout 30m ./daemon/... ./store/...; \
	echo $$? > .bench-rc; } 2>&1 | $(GO) run ./cmd/volctl-benchtable; rc=$$?; \
	brc=$$(cat .bench-rc 2>/dev/null || echo 1); rm -f .bench-rc; \
	if [ "$$brc" -ne 0 ]; then echo "bench: go test failed (exit $$brc)"; exit 1; fi; exit $$rc

## man: the man pages (cmd/volctl-man): volctl's, generated from its commands, into
## bin/man/man1; volctld(8) into man8; volctld.toml(5), made from docs/volctld.toml, into man5.
## Dated by the last commit (or SOURCE_DATE_EPOCH) so that the same tree gives the same pages.
man:
	@rm -rf $(BIN)/man
	SOURCE_DATE_EPOCH=$${SOURCE_DATE_EPOCH:-$$(git log -1 --format=%ct 2>/dev/null)} \
	  $(GO) run -ldflags "$(LDFLAGS)" ./cmd/volctl-man -config-doc docs/volctld.toml $(BIN)/man

## install: binaries, man pages, the documented config (kept if present), the systemd unit and the SMF manifest.
install: build man
	mkdir -p $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin $(DESTDIR)/etc/volctl \
	  $(DESTDIR)/lib/systemd/system $(DESTDIR)/lib/svc/manifest/system \
	  $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/man/man8
	cp $(BIN)/volctld $(DESTDIR)$(PREFIX)/sbin/volctld && chmod 0755 $(DESTDIR)$(PREFIX)/sbin/volctld
	cp $(BIN)/volctl $(DESTDIR)$(PREFIX)/bin/volctl && chmod 0755 $(DESTDIR)$(PREFIX)/bin/volctl
	[ -f $(DESTDIR)/etc/volctl/volctld.toml ] || { cp docs/volctld.toml $(DESTDIR)/etc/volctl/volctld.toml && chmod 0640 $(DESTDIR)/etc/volctl/volctld.toml; }
	cp contrib/systemd/volctld.service $(DESTDIR)/lib/systemd/system/volctld.service
	cp contrib/smf/volctld.xml $(DESTDIR)/lib/svc/manifest/system/volctld.xml
	chmod 0644 $(DESTDIR)/lib/systemd/system/volctld.service $(DESTDIR)/lib/svc/manifest/system/volctld.xml
	cp $(BIN)/man/man1/volctl*.1 $(DESTDIR)$(PREFIX)/share/man/man1/ && chmod 0644 $(DESTDIR)$(PREFIX)/share/man/man1/volctl*.1
	cp $(BIN)/man/man5/volctld.toml.5 $(DESTDIR)$(PREFIX)/share/man/man5/ && chmod 0644 $(DESTDIR)$(PREFIX)/share/man/man5/volctld.toml.5
	cp $(BIN)/man/man8/volctld.8 $(DESTDIR)$(PREFIX)/share/man/man8/ && chmod 0644 $(DESTDIR)$(PREFIX)/share/man/man8/volctld.8

clean:
	rm -rf $(BIN) $(SUMMARY)
