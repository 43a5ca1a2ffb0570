// Package bpftest is a differential test harness for BPF programs: it runs
// the same inputs through one program in interp, in the amd64 JIT (package
// jit) and in the kernel (BPF_PROG_TEST_RUN), each engine with its own set
// of maps made from the same spec, and reports every difference in the
// return value, the output packet, the run's error and the contents of
// every map, as a structured Result and as a readable diff.
//
// A test builds a Harness from a collection spec (a clang-built object
// read by prog.LoadCollectionSpec) and a program name, or from a single
// prog.Spec (NewProgram), then calls Run with a sequence of inputs: XDP
// frames with xdp_md metadata, socket-filter frames, tc (sched_cls and
// sched_act) frames with __sk_buff fields, raw memory, or kprobe
// registers (Kind says which; the program's type picks it when Kind is
// zero). Each Run call runs every input in every engine, compares the
// outcomes input by input, and then compares the maps: every key and value
// of hash, array, LRU, LPM and per-CPU maps and of global data sections
// (.data, .bss, .rodata), the elements of queues and stacks, the occupied
// slots of program arrays, and the records drained from ring buffers and
// perf event arrays since the previous Run. The maps live on between Run
// calls, so a sequence of inputs builds up state in every engine alike.
// Harness.Check is the testing.TB form.
//
// The kernel runs only when the process may load and test-run programs
// (KernelAvailable says whether, and why not); Options.Kernel requires or
// forbids it. The JIT runs on amd64 Unix systems; elsewhere Result.Skipped
// says it did not. A program interp or the JIT cannot run, such as one
// calling a helper userspace lacks, is an error from New that names the
// helper.
//
// # Kernel test-run quirks it normalises
//
//   - Socket filters: the kernel's test run (net/bpf/test_run.c,
//     bpf_prog_test_run_skb) passes the data through eth_type_trans, which
//     consumes the Ethernet header, so a program would see the packet from
//     its network header on, LD_ABS offset 0 being the IP header. On a
//     socket, in interp and in jit offset 0 is the Ethernet header. The
//     harness gives the kernel the frame behind a copy of its own Ethernet
//     header (prog.Program.RunSocketFilter), so all three see the frame
//     from byte 0 with skb->len = len(frame). The __sk_buff fields the
//     kernel derives, protocol and pkt_type from eth_type_trans against
//     the loopback device and ifindex 1, are given to interp and jit as
//     SKBMeta: the loopback's address and broadcast address are all
//     zeros, so a frame to 00:00:00:00:00:00 is PACKET_HOST, every group
//     address (ff:ff:ff:ff:ff:ff too) PACKET_MULTICAST, any other
//     PACKET_OTHERHOST; a length field instead of an ethertype gives
//     ETH_P_802_3 when the frame's first two bytes (what follows the
//     consumed copy) are 0xffff, else ETH_P_802_2.
//   - Socket-filter frames the kernel's test run refuses with EINVAL (shorter
//     than 14 bytes, or an IPv4 or IPv6 ethertype without a whole IP header
//     behind it: 20 or 40 bytes) run in interp and jit only;
//     Outcome.KernelSkipped says why (SocketFilterRefused tells them in
//     advance). Since they may change interp's and jit's maps, the kernel's
//     maps are compared no more after one (Result.Notes).
//   - XDP metadata: bpf_xdp_adjust_meta takes at most 32 bytes on older
//     kernels such as 6.1 (xdp_metalen_invalid) and 255 on recent ones
//     such as 6.18; the harness asks the running kernel for its limit and gives interp and jit the same one
//     (Options.XDPMaxMetadata).
//   - XDP frames longer than interp.XDPMaxFrame run as multi-buffer frames
//     (frags) in all three engines, as BPF_PROG_TEST_RUN builds them on
//     Linux 6.1 to 6.18 even for programs loaded without XDP frags: a
//     linear part of XDPMaxFrame bytes and fragments of XDPFragSize bytes.
//     Nothing is normalised.
//   - tc frames: the kernel's test run (bpf_prog_test_run_skb) gives a
//     sched_cls or sched_act program the whole frame, data at the
//     Ethernet header, on the loopback device (ifindex 1, an all-zero MAC
//     address), as interp.VM.RunTC does; skb->protocol and pkt_type come
//     from eth_type_trans as for socket filters above. Frames it refuses
//     with EINVAL (shorter than 14 bytes, longer than interp.TCMaxFrame,
//     an IPv4 or IPv6 ethertype without 20 or 40 bytes of IP header
//     behind the Ethernet header, a WireLen shorter than the frame or
//     past 65536, GSOSegs past 65535) fail in interp and jit with
//     ErrContext, and the failures compare equal.
//   - tc context: the kernel always gets a ctx_in built from Input.TC
//     (all zero when nil), as interp and jit always get a TCMeta, so a
//     wire_len of 0 means the frame's length in all three. ctx_in has no
//     room for tc_index, tc_classid, queue_mapping or hash, and an
//     ifindex past 1 is a real device with its own MAC address: inputs
//     with those run in interp and jit only (TCContextRefused,
//     Outcome.KernelSkipped), and the kernel's maps are compared no more
//     after one. ctx_out gives back mark, priority, cb, tstamp and the
//     input fields ingress_ifindex, ifindex, wire_len, gso_segs and
//     hwtstamp (CtxOut): those are compared with the kernel's;
//     tc_index, tc_classid, queue_mapping, hash, protocol and the VLAN
//     tag, which it does not give back, only between interp and jit.
//   - tc semantics that changed between kernels (the narrow reads of
//     vlan_present, where skb_vlan_push leaves the network header,
//     bpf_csum_diff, bpf_skb_adjust_room's flags): the harness asks the
//     running kernel two questions (is bpf_csum_diff of 2 bytes -EINVAL,
//     as before 6.13; is BPF_F_ADJ_ROOM_DECAP_L3_IPV4 unknown, as before
//     6.3) and sets interp.Options.KernelVersion to 6.1, 6.12 or 0 (the
//     newest, 6.18) by the answers, unless the caller set it. That tells
//     apart the kernels make vmtest boots (6.1, 6.12) and the host's; a
//     kernel between 6.3 and 6.11 is taken for 6.12, so give it
//     Options.Program.KernelVersion.
//   - Per-CPU maps: every kernel run is pinned to one CPU, the one interp
//     and jit simulate (bpf_get_smp_processor_id, per-CPU slots,
//     BPF_F_CURRENT_CPU), so per-CPU values compare CPU by CPU. Userspace
//     maps have as many CPUs as the kernel's possible CPUs.
//   - Perf event arrays: the kernel's bpf_perf_event_output fails with
//     ENOENT on a slot with no open perf event, while userspace arrays
//     always take samples; the harness opens a perf reader on every kernel
//     perf event array, so samples succeed in both. A kernel sample carries
//     0-7 bytes of undefined padding (perf.Record.RawSample); records are
//     compared in order on the bytes the program wrote.
//   - LRU maps: which entries a full LRU hash evicts is the kernel's
//     approximation of LRU order (per-CPU free lists, reference bits), so
//     once either engine's map is full only the keys both hold are
//     compared; until then every key is.
//   - Pinning: maps are never pinned (ObjectMapSpec.Pinning is ignored),
//     so every engine starts from fresh maps rather than from a map an
//     earlier process pinned by name.
//   - Program arrays hold program IDs, which differ between engines: only
//     which slots are occupied is compared.
//   - Errors: the kernel reports errnos and interp and jit sentinel errors,
//     so against the kernel only whether a run failed is compared; interp
//     and jit must fail for the same cause (ErrMemoryAccess, ErrContext,
//     ...).
//   - Maps the kernel fills with values only it knows (bpf_ktime_get_ns,
//     bpf_get_prandom_u32, addresses) cannot agree; Options.IgnoreMaps
//     leaves them out of the comparison.
//
// Package bpftest may import prog, insn, interp, interp/maps, jit, perf,
// internal/tcctx, golang.org/x/sys/unix and the standard library.
package bpftest
