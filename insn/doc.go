// Package insn is the eBPF instruction set: opcodes, registers, one
// Instruction type for every form the Linux kernel accepts, builders that
// read like the code a person means, symbolic labels, the binary encoding
// and the text syntax used by llvm-objdump, bpftool and the kernel's docs.
//
// The reference is RFC 9669 (BPF Instruction Set Architecture) plus the
// extensions the kernel accepts: the legacy packet loads LD_ABS and LD_IND,
// the LD_IMM64 pseudo sources, may_goto (Linux 6.9), load-acquire and
// store-release (Linux 6.15), and callx (the conformance suite's indirect
// call, opcode 0x8d, register in dst).
//
// # Building
//
// Builders return an Instruction; a program is an Instructions slice:
//
//	prog := insn.Instructions{
//		insn.Mov.Imm(insn.R0, 0),
//		insn.JGT.Imm(insn.R1, 5, "out"),
//		insn.Mov.Imm(insn.R0, 1),
//		insn.Exit().WithLabel("out"),
//	}
//
// ALU operations are values of ALUOp with the methods Imm, Reg (64-bit) and
// Imm32, Reg32 (32-bit); conditional jumps are values of JumpOp with the
// same four methods, taking the target label last.
//
// # Labels and references
//
// An instruction may carry a Label, which names it, and a Ref, which names
// what it points at: the label a jump or local call targets, or the map an
// LD_IMM64 map load refers to. Jump and call references are resolved into
// offsets by Resolve (and so by Marshal and Validate). Map references are
// left for the loader: package prog resolves them to kernel map fds and
// package interp to userspace maps, through Instruction.SetMapFD.
//
// # Encoding
//
// Instructions.Marshal and Unmarshal convert to and from the kernel's
// little-endian wire format. An LD_IMM64 is one Instruction that occupies
// two 8-byte slots; errors name the slot index. The round trip is exact.
//
// # Text
//
// Instructions.String prints one instruction per line and Parse reads the
// same syntax back: for every valid program p whose label and map names are
// identifiers (letters, digits, "_", "." and "$", not starting with a
// digit), Parse(p.String()) encodes to the same bytes as p, and its String
// is p.String() again. The syntax is
// llvm-objdump's and the kernel documentation's (the llvm-mc-19 oracle test
// lists where they differ cosmetically), with these forms:
//
//	r0 = 1               w1 += w2           r1 s>>= 3          ALU64 / ALU32, K and X
//	r0 s/= r1            w0 s%= 3           (Linux 6.6)        signed div / mod
//	r0 = (s8)r1          w0 = (s16)w1       r0 = (s32)r1       sign-extending mov
//	r0 = -r0             w0 = -w0                              neg
//	r0 = le16 r0         r0 = be64 r0       r0 = bswap32 r0    byte swaps
//	if r1 > 5 goto +2    if w1 s< w2 goto out    if r1 & 8 goto -3
//	goto +1              gotol label        may_goto label     (gotol 6.6, may_goto 6.9)
//	call 1               call ringbuf_reserve    call bpf_ringbuf_reserve    helper by number or name
//	call label           call pc+3                                 local call (label or offset)
//	call kfunc 123       call kfunc 123, 2  callx r2           kfunc by BTF id [, module index]
//	exit
//	r2 = *(u32 *)(r1 + 4)          w2 = *(u32 *)(r1 + 4)       load (w for sizes below 64 bits)
//	r0 = *(s16 *)(r1 + 2)                                      sign-extending load (Linux 6.6)
//	*(u64 *)(r10 - 8) = r1         *(u32 *)(r10 - 4) = 5       store register / immediate
//	lock *(u64 *)(r10 - 8) += r1   lock *(u32 *)(r1 + 0) |= w2     atomic add, or, and, xor
//	r1 = atomic_fetch_add((u64 *)(r10 - 8), r1)                also _or, _and, _xor; w for u32
//	r1 = xchg_64(r10 - 8, r1)      w1 = xchg32_32(r10 - 8, w1)
//	r0 = cmpxchg_64(r10 - 8, r0, r1)   w0 = cmpxchg32_32(r10 - 8, w0, w1)
//	r0 = load_acquire((u64 *)(r1 + 0))  store_release((u32 *)(r1 + 8), w2)   (Linux 6.15)
//	r0 = *(u8 *)skb[12]  r0 = *(u16 *)skb[r1]   r0 = *(u32 *)skb[r1 + 4]  legacy packet loads
//	r1 = 0x123456789 ll  r1 = -1 ll                            64-bit constant (two slots)
//
// and the LD_IMM64 pseudo sources, which the kernel resolves at load time
// (include/uapi/linux/bpf.h, BPF_PSEUDO_*); a name instead of a number sets
// Ref, for the loader to resolve:
//
//	r1 = map_fd(counters) ll       r1 = map_fd(5) ll           src 1: map pointer
//	r1 = map_value(cfg, 16) ll                                 src 2: pointer into a map value
//	r1 = btf_id(7, 0) ll                                       src 3: kernel variable by BTF id, BTF fd
//	r1 = func(label) ll            r1 = func(pc+3, 0) ll       src 4: function pointer
//	r1 = map_idx(2) ll                                         src 5: map by fd_array index
//	r1 = map_idx_value(2, 8) ll                                src 6: its value at an offset
//
// String prints a helper call by the helper's name without "bpf_"
// ("call map_lookup_elem", see HelperFunc), or by number when the table
// does not know it. "call name" is a local call when a label has that
// name and a helper call otherwise; Instructions.String prints the number
// of a helper whose name a label of the program shadows.
//
// A line may start with "name:", a label that names the next instruction
// (on the same line or a later one); a label with no instruction after it
// is an error. Comments run from "#", ";" or "//" to the end of the line.
// Numbers are decimal or 0x hexadecimal, with an optional sign. A 64-bit
// operation takes immediates in the int32 range only, since the kernel
// sign-extends them; 32-bit operations, JMP32 and narrow stores also take
// 0x80000000 to 0xffffffff as the same bit pattern. Mixing rN and wN in one
// operation (w1 += r2) is an error. Parse validates the program as Validate
// does, and reports every error as a *ParseError with line and column.
//
// Package insn imports only the standard library.
package insn
