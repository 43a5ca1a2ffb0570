# purebpf build entry points. See README.md.
GO          ?= go
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
# Packages whose privileged tests also run inside the qemu VM (Linux 6.1).
VMTEST_PKGS ?= ./perf/... ./examples/kprobe/... ./internal/vmtest/... ./sys/... ./prog/... ./socket/... \
               ./examples/socketfilter/... ./interp/maps/... ./jit/...
BENCH       ?= .
BENCHTIME   ?= 1s

.PHONY: all build test unit vet vmtest vmtest-auto demo bench lint fuzz

all: build

build:
	CGO_ENABLED=0 $(GO) build ./...

vet:
	$(GO) vet ./...

unit:
	CGO_ENABLED=0 $(GO) test -count=1 ./...

# test runs vet, every package's tests, and the VM kernel tests when this
# machine can boot a VM (root and qemu). Under CI=true the VM tests are
# required.
test: vet unit vmtest-auto

vmtest-auto:
	@if [ "$$CI" = true ] || { [ "$$(id -u)" = 0 ] && command -v qemu-system-x86_64 >/dev/null; }; then \
		$(MAKE) --no-print-directory vmtest; \
	else \
		echo "make test: VM kernel tests skipped (they need root and qemu-system-x86; run 'make vmtest')"; \
	fi

# vmtest boots Debian's 6.1 cloud kernel under qemu and runs the privileged
# tests of VMTEST_PKGS there (kprobes are tested this way).
vmtest:
	$(GO) run ./internal/vmtest $(VMTEST_PKGS)

# demo runs the loopback socket-filter demo; without root it runs the same
# filter in the interpreter over packets built in memory.
demo:
	$(GO) run ./examples/socketfilter

bench:
	$(GO) test -run='^$$' -bench='$(BENCH)' -benchmem -benchtime=$(BENCHTIME) ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

# fuzz runs every fuzz target for FUZZTIME each.
FUZZTIME ?= 30s
fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzUnmarshal$$' -fuzztime=$(FUZZTIME) ./insn/
	$(GO) test -run='^$$' -fuzz='^FuzzParse$$' -fuzztime=$(FUZZTIME) ./insn/
	$(GO) test -run='^$$' -fuzz='^FuzzRun$$' -fuzztime=$(FUZZTIME) ./internal/engine/
	$(GO) test -run='^$$' -fuzz='^FuzzDiff$$' -fuzztime=$(FUZZTIME) ./jit/
	$(GO) test -run='^$$' -fuzz='^FuzzDiffCalls$$' -fuzztime=$(FUZZTIME) ./jit/
	$(GO) test -run='^$$' -fuzz='^FuzzTranslate$$' -fuzztime=$(FUZZTIME) ./socket/classic/
