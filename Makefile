# purebpf build entry points. See README.md.
GO          ?= go
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
# Packages whose privileged tests also run inside the qemu VMs (Linux 6.1
# and 6.12, booted one after the other; VMTEST_KERNELS picks them).
VMTEST_PKGS ?= ./perf/... ./examples/kprobe/... ./internal/vmtest/... ./sys/... ./prog/... ./socket/... \
               ./examples/socketfilter/... ./interp/... ./jit/... ./link/... ./btf/... \
               ./examples/xdp/... ./examples/unittest/... ./bpftest/...
VMTEST_KERNELS ?= 6.1,6.12
BENCH       ?= .
BENCHTIME   ?= 1s

.PHONY: all build test unit vet vmtest vmtest-auto demo xdp-demo bench bench-peers lint fuzz bpf bpf-objs

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

# vmtest boots Debian's 6.1 and 6.12 cloud kernels under qemu, one after
# the other, and runs the privileged tests of VMTEST_PKGS on each (kprobes,
# and tc without tcx on 6.1, are tested this way).
vmtest:
	$(GO) run ./internal/vmtest -kernels=$(VMTEST_KERNELS) $(VMTEST_PKGS)

# demo runs the loopback socket-filter demo; without root it runs the same
# filter in the interpreter over packets built in memory.
demo:
	$(GO) run ./examples/socketfilter

# xdp-demo runs the XDP HTTP tracer between two throwaway network
# namespaces; without root it says what is missing and falls back.
xdp-demo:
	$(GO) run ./examples/xdp

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
	$(GO) test -run='^$$' -fuzz='^FuzzParseNetlink$$' -fuzztime=$(FUZZTIME) ./link/
	$(GO) test -run='^$$' -fuzz='^FuzzParse$$' -fuzztime=$(FUZZTIME) ./btf/
	$(GO) test -run='^$$' -fuzz='^FuzzParseExt$$' -fuzztime=$(FUZZTIME) ./btf/
	$(GO) test -run='^$$' -fuzz='^FuzzCORERelocate$$' -fuzztime=$(FUZZTIME) ./btf/
	$(GO) test -run='^$$' -fuzz='^FuzzLoadCollectionSpec$$' -fuzztime=$(FUZZTIME) -fuzzminimizetime=0s ./prog/

# bpf rebuilds the committed BPF objects from their C sources when clang-19
# is installed: btf/testdata/*.o, and the object corpus prog/testdata/bpf
# and examples/*/bpf (DWARF stripped; .BTF and .BTF.ext stay). The tests
# use the committed objects and check that they match their sources.
CLANG      ?= clang-19
LLVM_STRIP ?= llvm-strip-19
BPF_CFLAGS ?= -target bpf -O2 -g -D__TARGET_ARCH_x86 -fdebug-compilation-dir=.
BPF_OBJS   := $(patsubst %.c,%.o,$(wildcard prog/testdata/bpf/*.bpf.c interp/testdata/*.bpf.c examples/*/bpf/*.bpf.c bench/peers/testdata/*.bpf.c interp/kmem/testdata/*.bpf.c)) prog/testdata/bpf/minimal.bpfeb.o
bpf:
	@if command -v $(CLANG) >/dev/null; then $(MAKE) --no-print-directory -C btf/testdata && $(MAKE) --no-print-directory bpf-objs; \
	else echo "make bpf: clang-19 is not installed; the committed objects are used as they are"; fi
bpf-objs: $(BPF_OBJS)
# clang-19 orders some BTF types by heap addresses, which depend on the
# length and depth of the build directory's path. So that an object is the
# same bytes from any checkout, bpf_build compiles it in a directory of one
# fixed shape, /tmp/purebpf-bpf-XXXXXXXXXX, holding the source and the
# corpus headers at their repository paths (as TestCorpusObjectsMatchSources).
define bpf_build
	@d=$$(mktemp -d /tmp/purebpf-bpf-XXXXXXXXXX) && mkdir -p $$d/$(dir $<) $$d/prog/testdata/bpf && \
	cp $< $$d/$< && cp prog/testdata/bpf/*.h $$d/prog/testdata/bpf/ && \
	echo "(cd $$d && $(CLANG) $(1) -I$(dir $<) -Iprog/testdata/bpf/ -c $< -o $@)" && \
	(cd $$d && $(CLANG) $(1) -I$(dir $<) -Iprog/testdata/bpf/ -c $< -o $@ && $(LLVM_STRIP) -g $@) && cp $$d/$@ $@; \
	s=$$?; rm -rf $$d; exit $$s
endef
%.bpf.o: %.bpf.c $(wildcard prog/testdata/bpf/*.h)
	$(call bpf_build,$(BPF_CFLAGS))
# The XDP HTTP tracer and jit's XDP test program include the kernel's uapi
# headers (linux/if_ether.h, ...).
BPF_OBJS   += examples/xdp/bpf/xdp_http.o jit/testdata/xdp_ops.o jit/testdata/tc_ops.o bpftest/testdata/pktparse.o
examples/xdp/bpf/xdp_http.o jit/testdata/xdp_ops.o jit/testdata/tc_ops.o bpftest/testdata/pktparse.o: %.o: %.c
	$(CLANG) $(BPF_CFLAGS) -I/usr/include/$(shell uname -m)-linux-gnu -c $< -o $@
	$(LLVM_STRIP) -g $@
# A big-endian object, which the loader must refuse with a clear error.
prog/testdata/bpf/minimal.bpfeb.o: prog/testdata/bpf/minimal.bpf.c
	$(call bpf_build,$(subst -target bpf ,-target bpfeb ,$(BPF_CFLAGS)))

# bench-peers runs the side-by-side benchmarks against cilium/ebpf, a
# separate module so that the library does not depend on cilium.
bench-peers:
	cd bench/peers && $(GO) test -run='^$$' -bench='$(BENCH)' -benchmem -benchtime=$(BENCHTIME) .
