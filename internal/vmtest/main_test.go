package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/purebpf/purebpf/internal/vmtest/plan"
)

func TestNewestKernelPackage(t *testing.T) {
	out := `linux-image-6.1.0-9-cloud-amd64-unsigned - Linux 6.1 for x86-64 cloud
linux-image-6.1.0-47-cloud-amd64-unsigned - Linux 6.1 for x86-64 cloud
linux-image-6.12.115+deb12-cloud-amd64-unsigned - Linux 6.12 for x86-64 cloud
linux-image-6.12.9+deb12-cloud-amd64-unsigned - Linux 6.12 for x86-64 cloud
linux-image-6.1.0-50-cloud-amd64-unsigned - Linux 6.1 for x86-64 cloud
linux-image-6.1.0-50-cloud-amd64 - signed, not wanted
linux-image-6.12.120+deb12-cloud-amd64 - signed, not wanted
`
	f61, _ := familyNamed("6.1")
	name, rel, err := newestKernelPackage(f61, out)
	if err != nil {
		t.Fatal(err)
	}
	// 50 > 47 > 9 numerically; a string sort would pick 9.
	if name != "linux-image-6.1.0-50-cloud-amd64-unsigned" || rel != "6.1.0-50-cloud-amd64" {
		t.Fatalf("got %q %q", name, rel)
	}
	f612, _ := familyNamed("6.12")
	name, rel, err = newestKernelPackage(f612, out)
	if err != nil {
		t.Fatal(err)
	}
	if name != "linux-image-6.12.115+deb12-cloud-amd64-unsigned" || rel != "6.12.115+deb12-cloud-amd64" {
		t.Fatalf("got %q %q", name, rel)
	}
	if _, _, err := newestKernelPackage(f61, "linux-image-6.12.1+deb12-cloud-amd64-unsigned - x\n"); err == nil {
		t.Fatal("no 6.1 package: want error")
	}
	if _, err := familyNamed("5.10"); err == nil {
		t.Fatal("familyNamed(5.10): want error")
	}
	if f, ok := familyOf("linux-image-6.12.115+deb12-cloud-amd64-unsigned"); !ok || f.Name != "6.12" {
		t.Fatalf("familyOf = %v, %v", f.Name, ok)
	}
}

func TestModuleName(t *testing.T) {
	for in, want := range map[string]string{
		"/x/kernel/net/sched/sch_ingress.ko.xz": "sch_ingress",
		"drivers/net/veth.ko":                   "veth",
		"net/sched/cls-bpf.ko":                  "cls_bpf",
	} {
		if got := moduleName(in); got != want {
			t.Errorf("moduleName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMissingConfig(t *testing.T) {
	var b strings.Builder
	for _, opt := range requiredConfig {
		if opt == "CONFIG_KPROBES" {
			b.WriteString("# CONFIG_KPROBES is not set\n")
			continue
		}
		if opt == "CONFIG_DEBUG_FS" {
			b.WriteString(opt + "=m\n")
			continue
		}
		b.WriteString(opt + "=y\n")
	}
	got := missingConfig(b.String())
	if len(got) != 2 || got[0] != "CONFIG_KPROBES" || got[1] != "CONFIG_DEBUG_FS" {
		t.Fatalf("missing = %v, want [CONFIG_KPROBES CONFIG_DEBUG_FS]", got)
	}
}

func TestCachedKernelsOrder(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"linux-image-6.1.0-9-cloud-amd64-unsigned", "linux-image-6.1.0-41-cloud-amd64-unsigned", "linux-image-6.1.0-50-cloud-amd64-unsigned"} {
		if err := os.MkdirAll(filepath.Join(dir, n), 0o755); err != nil {
			t.Fatal(err)
		}
		if n == "linux-image-6.1.0-50-cloud-amd64-unsigned" {
			continue // incomplete download: no vmlinuz
		}
		if err := os.WriteFile(filepath.Join(dir, n, "vmlinuz"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f61, _ := familyNamed("6.1")
	got := cachedKernels(f61, dir)
	if len(got) != 2 || got[0] != "linux-image-6.1.0-41-cloud-amd64-unsigned" {
		t.Fatalf("cachedKernels = %v", got)
	}
}

func TestVerdict(t *testing.T) {
	p := plan.Plan{Tests: []plan.Test{{Package: "a"}, {Package: "b"}}}
	s := newScanState()
	for _, l := range []string{
		"--- PASS: TestA (0.00s)",
		"    --- PASS: TestA/sub (0.00s)", // subtests are not counted
		plan.FormatResult(plan.Result{Package: "a", Status: plan.Pass}),
		"panic: boom",
		plan.FormatResult(plan.Result{Package: "b", Status: plan.Fail, Exit: 2}) + "\r",
		plan.FormatDone(plan.Done{Passed: 1, Failed: 1}),
	} {
		s.feed(l)
	}
	if s.passed != 1 || s.failed != 1 {
		t.Fatalf("passed %d failed %d, want 1 1 (crash counts as one failure)", s.passed, s.failed)
	}
	if err := s.verdict(io.Discard, p); err == nil {
		t.Fatal("failing binary: verdict returned nil")
	}

	s = newScanState()
	s.feed(plan.FormatResult(plan.Result{Package: "a", Status: plan.Pass}))
	s.feed(plan.FormatResult(plan.Result{Package: "b", Status: plan.Pass}))
	if err := s.verdict(io.Discard, p); err == nil || !strings.Contains(err.Error(), "problem") {
		t.Fatalf("no done line: got %v", err)
	}
	s.feed(plan.FormatDone(plan.Done{Passed: 2}))
	s.problems = nil
	if err := s.verdict(io.Discard, p); err != nil {
		t.Fatalf("all passed: %v", err)
	}
}

func TestParseLdd(t *testing.T) {
	out := `	linux-vdso.so.1 (0x00007face9ad2000)
	libelf.so.1 => /lib/x86_64-linux-gnu/libelf.so.1 (0x00007face9a1d000)
	libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007face9810000)
	/lib64/ld-linux-x86-64.so.2 (0x00007face9ad4000)
`
	got, err := parseLdd(out)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/lib/x86_64-linux-gnu/libelf.so.1", "/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("got %v, want %v", got, want)
	}
	if _, err := parseLdd("\tlibfoo.so.1 => not found\n"); err == nil {
		t.Fatal("missing library accepted")
	}
}
