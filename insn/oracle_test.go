package insn_test

import (
	"bytes"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/internal/testenv"
)

// The llvm-mc oracle. LLVM's BPF assembler and disassembler (version 19,
// which CI installs) are an independent implementation of the same
// encoding and the same text syntax, so this test compares with them:
//
//  1. Assembler: every line of asmCorpus assembled by Parse encodes to
//     the bytes llvm-mc -show-encoding gives for the same line, and the
//     String of those bytes, fed back to llvm-mc, encodes to them again.
//  2. Disassembler: llvm-mc -disassemble of the bytes of asmCorpus
//     prints what String prints.
//
// llvm-mc-19 runs with -mcpu=v4. Found by experiment, it knows every form
// of the v1-v4 instruction set in our syntax: ALU and ALU32 with sdiv,
// smod, movsx and bswap, neg, le/be, every JMP and JMP32 condition, goto,
// gotol, may_goto, call N, callx, exit, LDX, LDSX and STX of every size,
// the store of an immediate, lock add/or/and/xor and the call-style
// atomics (atomic_fetch_add, xchg_64, cmpxchg_64, ...), addr_space_cast,
// the 64-bit constant "ll", and the packet loads skb[imm] and skb[reg].
//
// It does not know, so they are checked against hand-written bytes in
// TestEncodings instead:
//   - load_acquire/store_release (Linux 6.15), kfunc calls ("call kfunc
//     123"), and LD_IND with a non-zero immediate (skb[r1 + 4]);
//   - "call pc+1", which is to llvm-mc a call of the symbol "pc" plus one
//     (a relocation), and our pseudo-lddw forms map_fd(...) etc., which it
//     disassembles as "ld_pseudo r1, 1, 5".
//
// Cosmetic differences: String prints a helper call by the helper's name
// ("call map_lookup_elem") where llvm prints its number ("call 1"); llvm
// would take the name for a symbol, so the test turns names into numbers
// before llvm-mc reads String's text. llvm-mc's disassembler runs with
// -mattr=+alu32 and so prints the data register of a narrow load or store
// as wN ("w2 = *(u32 *)(r1 + 0)") where String prints rN; Parse reads
// both. It prints a 64-bit constant in decimal ("r1 = -1 ll", "r1 =
// 4886718345 ll") where String prints hex ("r1 = 0xffffffffffffffff ll");
// both read the other's form, so for "ll" lines the disassembler check
// compares Parse of llvm's text instead. llvm also accepts "r0 =
// 0xffffffff" for a 64-bit operation and truncates it to -1, which Parse
// rejects as out of range on purpose (the kernel sign extends it, so the
// value would not be the one written); such lines are not in the corpus.

const llvmMC = "llvm-mc-19"

// requireTool returns the path of a tool, skipping the test (failing it
// under CI=true) when the tool is not installed.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		testenv.SkipOrFail(t, "%s not installed", name)
	}
	return path
}

// asmCorpus returns the lines of the assembler corpus: every v1-v4 form
// llvm-mc-19 assembles, with a spread of registers, immediates and
// offsets. Conditional jumps and gotos reach at most 4 slots either way;
// the corpus is framed by exits so that every target is inside the
// program, and the 64-bit constants come after a run of exits so that no
// jump lands inside one.
func asmCorpus() []string {
	var lines []string
	add := func(format string, args ...any) { lines = append(lines, fmt.Sprintf(format, args...)) }
	exits := func() {
		for range 5 {
			add("exit")
		}
	}
	exits()
	aluOps := []string{"+=", "-=", "*=", "/=", "|=", "&=", "<<=", ">>=", "%=", "^=", "=", "s>>=", "s/=", "s%="}
	imms := []string{"0", "1", "-1", "63", "2147483647", "-2147483648", "0x7f"}
	regPairs := [][2]int{{0, 1}, {1, 2}, {9, 10}, {5, 5}, {6, 0}}
	for _, op := range aluOps {
		for _, imm := range imms {
			add("r3 %s %s", op, imm)
			add("w4 %s %s", op, imm)
		}
		for _, rp := range regPairs {
			add("r%d %s r%d", rp[0], op, rp[1])
			add("w%d %s w%d", rp[0], op, rp[1])
		}
	}
	add("w7 = 4294967295") // a 32-bit pattern; llvm and Parse both take it as -1
	for _, r := range []int{0, 3, 9} {
		add("r%d = -r%d", r, r)
		add("w%d = -w%d", r, r)
		for _, bits := range []int{16, 32, 64} {
			add("r%d = le%d r%d", r, bits, r)
			add("r%d = be%d r%d", r, bits, r)
			add("r%d = bswap%d r%d", r, bits, r)
		}
		for _, bits := range []int{8, 16, 32} {
			add("r%d = (s%d)r%d", r, bits, (r+1)%10)
			if bits < 32 {
				add("w%d = (s%d)w%d", r, bits, (r+2)%10)
			}
		}
	}
	conds := []string{"==", ">", ">=", "!=", "s>", "s>=", "<", "<=", "s<", "s<=", "&"}
	offs := []string{"+0", "+1", "+4", "-1", "-4"}
	for k, c := range conds {
		off := offs[k%len(offs)]
		add("if r1 %s 5 goto %s", c, off)
		add("if r9 %s -2147483648 goto %s", c, off)
		add("if r2 %s r3 goto %s", c, off)
		add("if w1 %s 7 goto %s", c, off)
		add("if w4 %s -1 goto %s", c, off)
		add("if w8 %s w0 goto %s", c, off)
	}
	for _, off := range offs {
		add("goto %s", off)
		add("gotol %s", off)
		add("may_goto %s", off)
	}
	sizes := []string{"u8", "u16", "u32", "u64"}
	mems := []string{"(r1 + 0)", "(r10 - 8)", "(r2 + 32767)", "(r3 - 32768)", "(r0 + 12)"}
	for k, size := range sizes {
		for j, m := range mems {
			add("r%d = *(%s *)%s", (k+j)%10, size, m)
			add("*(%s *)%s = r%d", size, m, (k+2*j)%11)
			if size != "u64" {
				// The alu32 spelling with w registers: same encoding.
				add("w%d = *(%s *)%s", (k+j+1)%10, size, m)
				add("*(%s *)%s = w%d", size, m, (k+j+3)%11)
				add("r%d = *(s%s *)%s", (k+j+2)%10, size[1:], m)
			}
			add("*(%s *)%s = %s", size, m, imms[(k+j)%len(imms)])
		}
	}
	for _, op := range []string{"+=", "|=", "&=", "^="} {
		add("lock *(u64 *)(r10 - 8) %s r1", op)
		add("lock *(u64 *)(r2 + 16) %s r9", op)
		add("lock *(u32 *)(r1 + 0) %s w2", op)
		add("lock *(u32 *)(r3 - 4) %s w0", op)
	}
	for _, size := range []string{"u8", "u16", "u32"} {
		add("r0 = *(%s *)skb[0]", size)
		add("r0 = *(%s *)skb[-4]", size)
		add("r0 = *(%s *)skb[2147483647]", size)
		add("r0 = *(%s *)skb[r1]", size)
		add("r0 = *(%s *)skb[r9]", size)
	}
	for _, n := range []int{0, 1, 5, 113, 211, 212, -1} {
		add("call %d", n)
	}
	for _, r := range []int{0, 2, 9} {
		add("callx r%d", r)
	}
	for _, name := range []string{"atomic_fetch_add", "atomic_fetch_or", "atomic_fetch_and", "atomic_fetch_xor"} {
		add("r1 = %s((u64 *)(r10 - 8), r1)", name)
		add("r7 = %s((u64 *)(r2 + 100), r7)", name)
		add("w1 = %s((u32 *)(r10 - 8), w1)", name)
		add("w0 = %s((u32 *)(r3 + 0), w0)", name)
	}
	add("r1 = xchg_64(r10 - 8, r1)")
	add("r5 = xchg_64(r2 + 24, r5)")
	add("w1 = xchg32_32(r10 - 8, w1)")
	add("w9 = xchg32_32(r0 + 0, w9)")
	add("r0 = cmpxchg_64(r10 - 8, r0, r1)")
	add("r0 = cmpxchg_64(r4 + 8, r0, r6)")
	add("w0 = cmpxchg32_32(r10 - 8, w0, w1)")
	add("w0 = cmpxchg32_32(r2 - 4, w0, w3)")
	add("r1 = addr_space_cast(r2, 0, 1)")
	add("r9 = addr_space_cast(r0, 1, 0)")
	add("r4 = addr_space_cast(r4, 1, 0)")
	exits()
	for _, v := range []string{"0x0", "0x1", "0xffffffffffffffff", "0x123456789", "0x8000000000000000", "0x7fffffffffffffff", "-2", "4294967296"} {
		add("r1 = %s ll", v)
		add("r9 = %s ll", v)
	}
	exits()
	return lines
}

// numericCall turns String's "call map_lookup_elem" into llvm's "call 1".
func numericCall(line string) string {
	if name, ok := strings.CutPrefix(line, "call "); ok {
		if f, ok := insn.ParseHelper(name); ok {
			return fmt.Sprintf("call %d", int32(f))
		}
	}
	return line
}

// runTool runs a tool with stdin and fails on any diagnostic.
func runTool(t *testing.T, stdin string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

var encodingRE = regexp.MustCompile(`# encoding: \[([^\]]*)\]`)

// llvmAssemble returns llvm-mc's encoding of each line of src.
func llvmAssemble(t *testing.T, src string) [][]byte {
	t.Helper()
	out := runTool(t, src, llvmMC, "-triple", "bpfel", "-mcpu=v4", "-show-encoding")
	var encs [][]byte
	for _, m := range encodingRE.FindAllStringSubmatch(out, -1) {
		var b []byte
		for _, f := range strings.Split(m[1], ",") {
			v, err := strconv.ParseUint(strings.TrimSpace(f), 0, 8)
			if err != nil {
				t.Fatalf("llvm-mc gave a symbolic encoding [%s]: %v", m[1], err)
			}
			b = append(b, byte(v))
		}
		encs = append(encs, b)
	}
	return encs
}

// llvmDisassemble returns llvm-mc's text of each instruction of prog.
func llvmDisassemble(t *testing.T, prog []byte) []string {
	t.Helper()
	var sb strings.Builder
	for k, b := range prog {
		if k%8 == 0 && k > 0 {
			sb.WriteByte('\n')
		}
		fmt.Fprintf(&sb, "0x%02x ", b)
	}
	sb.WriteByte('\n')
	out := runTool(t, sb.String(), llvmMC, "-triple", "bpfel", "-mcpu=v4", "-mattr=+alu32", "-disassemble")
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, ".") {
			continue
		}
		lines = append(lines, l)
	}
	return lines
}

// parseCorpus assembles the lines as one program and returns it with its
// encoding.
func parseCorpus(t *testing.T, lines []string) (insn.Instructions, []byte) {
	t.Helper()
	is, err := insn.Parse(strings.Join(lines, "\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(is) != len(lines) {
		t.Fatalf("Parse gave %d instructions for %d lines", len(is), len(lines))
	}
	b, err := is.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return is, b
}

// perInstruction splits a program's encoding at its instructions.
func perInstruction(is insn.Instructions, b []byte) [][]byte {
	var out [][]byte
	for k, off := range is.SlotOffsets() {
		out = append(out, b[off*insn.SlotSize:(off+is[k].Slots())*insn.SlotSize])
	}
	return out
}

func TestLLVMAssembler(t *testing.T) {
	requireTool(t, llvmMC)
	lines := asmCorpus()
	is, b := parseCorpus(t, lines)
	ours := perInstruction(is, b)

	// Parse and llvm-mc agree on every line.
	llvm := llvmAssemble(t, strings.Join(lines, "\n")+"\n")
	if len(llvm) != len(lines) {
		t.Fatalf("llvm-mc encoded %d instructions for %d lines", len(llvm), len(lines))
	}
	for k, line := range lines {
		if !bytes.Equal(ours[k], llvm[k]) {
			t.Errorf("%q: Parse encodes %x, llvm-mc %x", line, ours[k], llvm[k])
		}
	}

	// llvm-mc reads what String prints and encodes it the same.
	var text []string
	for _, i := range is {
		text = append(text, numericCall(i.String()))
	}
	llvm = llvmAssemble(t, strings.Join(text, "\n")+"\n")
	if len(llvm) != len(text) {
		t.Fatalf("llvm-mc encoded %d instructions for %d lines of String", len(llvm), len(text))
	}
	for k, line := range text {
		if !bytes.Equal(ours[k], llvm[k]) {
			t.Errorf("String %q: llvm-mc encodes %x, want %x", line, llvm[k], ours[k])
		}
	}
	t.Logf("%d lines compared with llvm-mc-19 both ways", len(lines))
}

func TestLLVMDisassembler(t *testing.T) {
	requireTool(t, llvmMC)
	{
		is, b := parseCorpus(t, asmCorpus())
		llvm := llvmDisassemble(t, b)
		if len(llvm) != len(is) {
			t.Fatalf("llvm-mc printed %d instructions for %d", len(llvm), len(is))
		}
		for k, i := range is {
			got := numericCall(i.String())
			c := i.OpCode.Class()
			narrow := (c == insn.ClassLdX || c == insn.ClassStX) && i.OpCode.Mode() == insn.ModeMem && i.OpCode.Size() != insn.DW
			if !i.IsLoadImm64() && !narrow {
				if got != llvm[k] {
					t.Errorf("String() = %q, llvm-mc prints %q", got, llvm[k])
				}
				continue
			}
			// Cosmetic differences: llvm prints the constant of "ll" in
			// decimal, and with alu32 the data register of a narrow load
			// or store as wN. Compare the meaning.
			again, err := insn.Parse(llvm[k])
			if err != nil || len(again) != 1 || again[0] != i {
				t.Errorf("llvm-mc prints %q for %q, which Parse reads as %v, %v", llvm[k], got, again, err)
			}
		}
		t.Logf("%d instructions compared with llvm-mc-19's disassembly", len(is))
	}
}
