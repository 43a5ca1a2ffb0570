package interp

import "github.com/purebpf/purebpf/internal/engine"

// TCMeta is the part of a tc program's __sk_buff context besides the
// packet, as BPF_PROG_TEST_RUN's ctx_in and ctx_out carry it (RunTC): the
// fields RunTC reads, and those it writes back as the run left them.
type TCMeta = engine.TCMeta

// The verdicts a tc program returns (TC_ACT_*, include/uapi/linux/pkt_cls.h).
const (
	TCActUnspec     = engine.TCActUnspec
	TCActOK         = engine.TCActOK
	TCActReclassify = engine.TCActReclassify
	TCActShot       = engine.TCActShot
	TCActPipe       = engine.TCActPipe
	TCActStolen     = engine.TCActStolen
	TCActQueued     = engine.TCActQueued
	TCActRepeat     = engine.TCActRepeat
	TCActRedirect   = engine.TCActRedirect
	TCActTrap       = engine.TCActTrap
)

// TCMaxFrame is the longest frame RunTC takes, as the kernel's test run
// does (a page less NET_SKB_PAD and the skb_shared_info).
const TCMaxFrame = engine.TCMaxFrame

// TCMaxLen is the longest packet bpf_skb_change_tail, bpf_skb_change_head
// and bpf_skb_adjust_room make (BPF_SKB_MAX_LEN, SKB_MAX_ALLOC on x86-64).
const TCMaxLen = engine.TCMaxLen

// RunTC runs a sched_cls or sched_act program (prog.SchedCLS,
// prog.SchedACT) on a copy of frame, as BPF_PROG_TEST_RUN does
// (bpf_prog_test_run_skb, net/bpf/test_run.c, Linux 6.1 to 6.18).
//
// r1 points at a struct __sk_buff whose data, data_meta and data_end,
// read as the __u32 fields they are, are pointers to the packet (which
// lives below 4 GiB for that; linux/amd64 only); every access through
// them is checked against [data, data_end), and an access outside it
// ends the run with an error wrapping ErrMemoryAccess. The context's
// fields follow tc_cls_act_is_valid_access (net/core/filter.c): a program
// may write mark, priority, tc_index, tc_classid, queue_mapping, cb[0..4]
// and tstamp; other stores, and loads of fields tc programs may not read,
// end the run with an error wrapping ErrContext that names the field.
// skb->protocol and pkt_type come from the Ethernet header as the test
// run's eth_type_trans gives them (for a device with an all-zero MAC
// address, as the loopback device the kernel uses has); sk reads as NULL
// (the kernel's test run gives a dummy socket).
//
// The helpers skb_store_bytes, skb_load_bytes, l3_csum_replace,
// l4_csum_replace, csum_diff, skb_change_tail, skb_change_head,
// skb_adjust_room, skb_change_proto, skb_change_type, skb_vlan_push,
// skb_vlan_pop, skb_pull_data, skb_load_bytes_relative, set_hash,
// set_hash_invalid, get_hash_recalc (of a hash set_hash gave), csum_level,
// get_cgroup_classid and redirect behave as the kernel's on the linear,
// non-GSO skb of a test run, with its return values and errors (see
// Options.KernelVersion for the ones that changed); like the kernel's,
// they move the packet, so pointers into it must be loaded again after a
// call.
//
// It returns the verdict (r0's low 32 bits, a TCAct value), the packet
// as the program left it, and, in *meta (which may be nil), the fields
// ctx_out gives back (see TCMeta). frame must hold 14 to TCMaxFrame
// bytes, as the kernel's test run requires. A run that fails returns no
// packet and leaves *meta as it was.
func (vm *VM) RunTC(frame []byte, meta *TCMeta) (uint32, []byte, error) {
	return vm.e.RunTC(frame, meta)
}

// RunTC runs a tc program on frame, exactly like VM.RunTC. The context's
// bytes are written only if the program reads them. The output packet is
// a view into the Runner's packet buffer, valid until the Runner's next
// run or Close (see Runner). The run keeps meta until it ends, so a
// *TCMeta of a variable declared in a loop's body escapes to the heap:
// declare it outside the loop for runs that allocate nothing.
func (r *Runner) RunTC(frame []byte, meta *TCMeta) (uint32, []byte, error) {
	return r.r.RunTC(frame, meta)
}
