//go:build linux

package sys

import (
	"runtime"
	"testing"
	"unsafe"
)

// The layouts of the kernel structs are checked against the running
// kernel's BTF in kernel_layout_test.go; this file holds what BTF does
// not describe.

func TestLayoutPointer(t *testing.T) {
	if got := unsafe.Sizeof(Pointer{}); got != 8 {
		t.Errorf("sizeof(Pointer) = %d, want 8", got)
	}
	if got := unsafe.Sizeof(ObjName{}); got != 16 {
		t.Errorf("sizeof(ObjName) = %d, want 16", got)
	}
}

// The perf_event_mmap_page offsets also agree with golang.org/x/sys/unix's
// struct (kernel_layout_test.go checks them against the kernel's BTF).
func TestPerfMmapPageUnix(t *testing.T) {
	var p unixPerfEventMmapPage
	if got := unsafe.Offsetof(p.Data_head); got != PerfMmapPageDataHeadOffset {
		t.Errorf("unix.PerfEventMmapPage.Data_head at %d, want %d", got, PerfMmapPageDataHeadOffset)
	}
	if got := unsafe.Offsetof(p.Data_size); got != PerfMmapPageDataSizeOffset {
		t.Errorf("unix.PerfEventMmapPage.Data_size at %d, want %d", got, PerfMmapPageDataSizeOffset)
	}
}

func TestPerfIoctlNumbers(t *testing.T) {
	// _IO('$', 0), _IO('$', 1) and _IOW('$', 8, __u32) with the generic
	// ioctl encoding; powerpc, mips and sparc encode _IOW differently.
	switch runtime.GOARCH {
	case "amd64", "arm64", "386", "arm", "riscv64", "loong64", "s390x":
	default:
		t.Skip("skipping: ioctl encoding of " + runtime.GOARCH + " not recorded")
	}
	if PerfEventIOCEnable != 0x2400 || PerfEventIOCDisable != 0x2401 {
		t.Errorf("enable/disable = %#x/%#x, want 0x2400/0x2401", PerfEventIOCEnable, PerfEventIOCDisable)
	}
	if PerfEventIOCSetBPF != 0x40042408 {
		t.Errorf("set_bpf = %#x, want 0x40042408", PerfEventIOCSetBPF)
	}
}
