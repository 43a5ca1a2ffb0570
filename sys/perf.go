//go:build linux

package sys

import (
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// PerfEventAttr is struct perf_event_attr from include/uapi/linux/perf_event.h
// in its current layout (PERF_ATTR_SIZE_VER8, 136 bytes). The C bit field
// word is the Flags field, set with the PerfBit* constants.
type PerfEventAttr struct {
	Type   uint32 // type: PerfType* (or a dynamic PMU type from sysfs)
	Size   uint32 // size: sizeof the struct; PerfEventOpen fills it in when 0
	Config uint64 // config: type-specific event selector, e.g. PerfCountSWBPFOutput
	// SamplePeriodOrFreq is the union sample_period / sample_freq: the
	// sampling period, or the frequency in Hz when PerfBitFreq is set.
	SamplePeriodOrFreq uint64
	SampleType         uint64 // sample_type: PerfSample* bits recorded in each sample
	ReadFormat         uint64 // read_format: PERF_FORMAT_* bits for read(2)
	Flags              uint64 // the bit field word: PerfBit* bits
	// WakeupEventsOrWatermark is the union wakeup_events /
	// wakeup_watermark: wake readers every n events, or after n bytes
	// when PerfBitWatermark is set.
	WakeupEventsOrWatermark uint32
	BPType                  uint32 // bp_type: breakpoint type (HW_BREAKPOINT_*)
	// Config1 is the union bp_addr / kprobe_func / uprobe_path / config1.
	// For the kprobe and uprobe PMUs it is the address of a NUL-terminated
	// string: the caller must keep that memory pinned (runtime.Pinner) and
	// alive until PerfEventOpen returns.
	Config1 uint64
	// Config2 is the union bp_len / kprobe_addr / probe_offset / config2.
	Config2          uint64
	BranchSampleType uint64 // branch_sample_type: PERF_SAMPLE_BRANCH_* bits
	SampleRegsUser   uint64 // sample_regs_user: user registers to dump in samples
	SampleStackUser  uint32 // sample_stack_user: bytes of user stack to dump
	ClockID          int32  // clockid: clock for time fields, with PerfBitUseClockID
	SampleRegsIntr   uint64 // sample_regs_intr: registers to dump on interrupt
	AuxWatermark     uint32 // aux_watermark: AUX area wakeup watermark
	SampleMaxStack   uint16 // sample_max_stack: maximum callchain depth
	_                uint16 // __reserved_2
	AuxSampleSize    uint32 // aux_sample_size: AUX data to include in samples
	AuxAction        uint32 // aux_action: AUX pause/resume bits
	SigData          uint64 // sig_data: value for siginfo si_perf_data, with PerfBitSigtrap
	Config3          uint64 // config3: extension of Config2
}

// PerfEventAttrSize is the size of PerfEventAttr (PERF_ATTR_SIZE_VER8).
const PerfEventAttrSize = 136

// Bits of PerfEventAttr.Flags, in the order of the C bit field.
const (
	PerfBitDisabled               uint64 = 1 << 0                     // disabled: start disabled
	PerfBitInherit                uint64 = 1 << 1                     // inherit: children inherit the event
	PerfBitPinned                 uint64 = 1 << 2                     // pinned: must always be on the PMU
	PerfBitExclusive              uint64 = 1 << 3                     // exclusive: only group on the PMU
	PerfBitExcludeUser            uint64 = 1 << 4                     // exclude_user: do not count user space
	PerfBitExcludeKernel          uint64 = 1 << 5                     // exclude_kernel: do not count the kernel
	PerfBitExcludeHV              uint64 = 1 << 6                     // exclude_hv: do not count the hypervisor
	PerfBitExcludeIdle            uint64 = 1 << 7                     // exclude_idle: do not count when idle
	PerfBitMmap                   uint64 = 1 << 8                     // mmap: include mmap records
	PerfBitComm                   uint64 = 1 << 9                     // comm: include comm records
	PerfBitFreq                   uint64 = 1 << 10                    // freq: SamplePeriodOrFreq is a frequency
	PerfBitInheritStat            uint64 = 1 << 11                    // inherit_stat: per-task counts
	PerfBitEnableOnExec           uint64 = 1 << 12                    // enable_on_exec: enable on the next exec
	PerfBitTask                   uint64 = 1 << 13                    // task: include fork/exit records
	PerfBitWatermark              uint64 = 1 << 14                    // watermark: wake up by bytes, not events
	PerfBitPreciseIPShift                = 15                         // precise_ip: 2-bit skid constraint at bits 15-16
	PerfBitPreciseIPMask          uint64 = 3 << PerfBitPreciseIPShift // mask of the precise_ip field
	PerfBitMmapData               uint64 = 1 << 17                    // mmap_data: include non-exec mmap records
	PerfBitSampleIDAll            uint64 = 1 << 18                    // sample_id_all: sample_type fields on all records
	PerfBitExcludeHost            uint64 = 1 << 19                    // exclude_host: do not count in the host
	PerfBitExcludeGuest           uint64 = 1 << 20                    // exclude_guest: do not count in guests
	PerfBitExcludeCallchainKernel uint64 = 1 << 21                    // exclude_callchain_kernel
	PerfBitExcludeCallchainUser   uint64 = 1 << 22                    // exclude_callchain_user
	PerfBitMmap2                  uint64 = 1 << 23                    // mmap2: mmap records with inode data
	PerfBitCommExec               uint64 = 1 << 24                    // comm_exec: flag comm records caused by exec
	PerfBitUseClockID             uint64 = 1 << 25                    // use_clockid: use ClockID for time fields
	PerfBitContextSwitch          uint64 = 1 << 26                    // context_switch: include context switch records
	PerfBitWriteBackward          uint64 = 1 << 27                    // write_backward: fill the ring buffer backwards
	PerfBitNamespaces             uint64 = 1 << 28                    // namespaces: include namespace records
	PerfBitKsymbol                uint64 = 1 << 29                    // ksymbol: include ksymbol records
	PerfBitBPFEvent               uint64 = 1 << 30                    // bpf_event: include BPF load/unload records
	PerfBitAuxOutput              uint64 = 1 << 31                    // aux_output: generate AUX records
	PerfBitCgroup                 uint64 = 1 << 32                    // cgroup: include cgroup records
	PerfBitTextPoke               uint64 = 1 << 33                    // text_poke: include text poke records
	PerfBitBuildID                uint64 = 1 << 34                    // build_id: build IDs in mmap2 records
	PerfBitInheritThread          uint64 = 1 << 35                    // inherit_thread: inherit only to threads
	PerfBitRemoveOnExec           uint64 = 1 << 36                    // remove_on_exec: remove the event on exec
	PerfBitSigtrap                uint64 = 1 << 37                    // sigtrap: send SIGTRAP on overflow
)

// Perf event types (enum perf_type_id), for PerfEventAttr.Type.
const (
	PerfTypeHardware   uint32 = 0 // PERF_TYPE_HARDWARE
	PerfTypeSoftware   uint32 = 1 // PERF_TYPE_SOFTWARE
	PerfTypeTracepoint uint32 = 2 // PERF_TYPE_TRACEPOINT: Config is the tracepoint ID
	PerfTypeHWCache    uint32 = 3 // PERF_TYPE_HW_CACHE
	PerfTypeRaw        uint32 = 4 // PERF_TYPE_RAW
	PerfTypeBreakpoint uint32 = 5 // PERF_TYPE_BREAKPOINT
)

// Software event configs (enum perf_sw_ids), for PerfEventAttr.Config with
// PerfTypeSoftware.
const (
	PerfCountSWCPUClock        uint64 = 0  // PERF_COUNT_SW_CPU_CLOCK
	PerfCountSWTaskClock       uint64 = 1  // PERF_COUNT_SW_TASK_CLOCK
	PerfCountSWPageFaults      uint64 = 2  // PERF_COUNT_SW_PAGE_FAULTS
	PerfCountSWContextSwitches uint64 = 3  // PERF_COUNT_SW_CONTEXT_SWITCHES
	PerfCountSWCPUMigrations   uint64 = 4  // PERF_COUNT_SW_CPU_MIGRATIONS
	PerfCountSWDummy           uint64 = 9  // PERF_COUNT_SW_DUMMY
	PerfCountSWBPFOutput       uint64 = 10 // PERF_COUNT_SW_BPF_OUTPUT: target of bpf_perf_event_output
)

// Sample and record constants used by perf ring buffer readers.
const (
	PerfSampleRaw      uint64 = 1 << 10 // PERF_SAMPLE_RAW: sample_type bit for raw data
	PerfRecordLost     uint32 = 2       // PERF_RECORD_LOST: records were dropped
	PerfRecordSample   uint32 = 9       // PERF_RECORD_SAMPLE: a sample
	PerfFlagFDCloexec  uint   = 0x8     // PERF_FLAG_FD_CLOEXEC: flag of perf_event_open
	PerfEventHeaderLen        = 8       // size of struct perf_event_header
)

// ioctl requests on perf event descriptors.
const (
	PerfEventIOCEnable  uint = unix.PERF_EVENT_IOC_ENABLE  // PERF_EVENT_IOC_ENABLE: start counting
	PerfEventIOCDisable uint = unix.PERF_EVENT_IOC_DISABLE // PERF_EVENT_IOC_DISABLE: stop counting
	PerfEventIOCSetBPF  uint = unix.PERF_EVENT_IOC_SET_BPF // PERF_EVENT_IOC_SET_BPF: attach a program fd (legacy)
)

// Offsets of the ring buffer control fields in struct perf_event_mmap_page,
// the first page of a perf event mmap. data_head is written by the kernel
// and must be read with an acquire load; data_tail is written by the reader
// with a release store.
const (
	PerfMmapPageDataHeadOffset   = 1024 // data_head: head in the data section
	PerfMmapPageDataTailOffset   = 1032 // data_tail: tail written by user space
	PerfMmapPageDataOffsetOffset = 1040 // data_offset: where the data section starts
	PerfMmapPageDataSizeOffset   = 1048 // data_size: size of the data section
	PerfMmapPageSize             = 1088 // size of struct perf_event_mmap_page
)

// PerfEventOpen opens a perf event (perf_event_open(2)) and returns its
// descriptor. pid, cpu and groupFD have their perf_event_open meanings
// (pid -1 with cpu >= 0 watches a CPU; groupFD -1 for no group).
// PerfFlagFDCloexec is always added to flags. If attr.Size is 0 it is set
// to PerfEventAttrSize. EINTR is retried; errors are *Error values with Op
// "perf_event_open".
func PerfEventOpen(attr *PerfEventAttr, pid, cpu, groupFD int, flags uint) (*FD, error) {
	const op = "perf_event_open"
	if attr == nil {
		return nil, fmt.Errorf("%s: nil attribute: %w", op, unix.EINVAL)
	}
	if attr.Size == 0 {
		attr.Size = PerfEventAttrSize
	}
	flags |= PerfFlagFDCloexec
	for {
		r, _, errno := unix.Syscall6(unix.SYS_PERF_EVENT_OPEN, uintptr(unsafe.Pointer(attr)),
			uintptr(pid), uintptr(cpu), uintptr(groupFD), uintptr(flags), 0)
		runtime.KeepAlive(attr)
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return nil, newError(op, errno)
		}
		fd, err := NewFD(int(r))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		return fd, nil
	}
}

func perfIoctl(name string, fd *FD, req uint, arg int) error {
	var errno unix.Errno
	for {
		_, _, errno = unix.Syscall(unix.SYS_IOCTL, uintptr(fd.Int()), uintptr(req), uintptr(arg))
		if errno != unix.EINTR {
			break
		}
	}
	runtime.KeepAlive(fd)
	return newError("ioctl("+name+")", errno)
}

// PerfEventEnable starts the event (PERF_EVENT_IOC_ENABLE).
func PerfEventEnable(fd *FD) error {
	return perfIoctl("PERF_EVENT_IOC_ENABLE", fd, PerfEventIOCEnable, 0)
}

// PerfEventDisable stops the event (PERF_EVENT_IOC_DISABLE).
func PerfEventDisable(fd *FD) error {
	return perfIoctl("PERF_EVENT_IOC_DISABLE", fd, PerfEventIOCDisable, 0)
}

// PerfEventSetBPF attaches the program prog to the event fd
// (PERF_EVENT_IOC_SET_BPF), the pre-link way of attaching kprobe,
// tracepoint and perf_event programs. Prefer LinkCreate with
// *LinkCreatePerfEventAttr where available (Linux 5.15+).
func PerfEventSetBPF(fd, prog *FD) error {
	err := perfIoctl("PERF_EVENT_IOC_SET_BPF", fd, PerfEventIOCSetBPF, prog.Int())
	runtime.KeepAlive(prog)
	return err
}
