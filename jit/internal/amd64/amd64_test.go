package amd64

import (
	"bytes"
	"fmt"
	"testing"

	"golang.org/x/arch/x86/x86asm"
)

var (
	names64 = [16]string{"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"}
	names32 = [16]string{"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi", "r8d", "r9d", "r10d", "r11d", "r12d", "r13d", "r14d", "r15d"}
	names16 = [16]string{"ax", "cx", "dx", "bx", "sp", "bp", "si", "di", "r8w", "r9w", "r10w", "r11w", "r12w", "r13w", "r14w", "r15w"}
	names8  = [16]string{"al", "cl", "dl", "bl", "spl", "bpl", "sil", "dil", "r8b", "r9b", "r10b", "r11b", "r12b", "r13b", "r14b", "r15b"}
)

func regName(w Width, r Reg) string {
	switch w {
	case W8:
		return names8[r]
	case W16:
		return names16[r]
	case W32:
		return names32[r]
	}
	return names64[r]
}

func ptr(w Width) string {
	return map[Width]string{W8: "byte", W16: "word", W32: "dword", W64: "qword"}[w]
}

func memText(m Mem) string {
	s := "[" + names64[m.Base]
	if m.HasIndex {
		s += "+" + names64[m.Index] + "*1"
	}
	switch {
	case m.Disp > 0:
		s += fmt.Sprintf("+0x%x", m.Disp)
	case m.Disp < 0 && m.Disp >= -128:
		s += fmt.Sprintf("-0x%x", -int64(m.Disp))
	case m.Disp < 0: // x86asm prints a negative disp32 as its unsigned bits
		s += fmt.Sprintf("+0x%x", uint32(m.Disp))
	}
	return s + "]"
}

// decodeAll disassembles code with x86asm, requiring that it decodes
// completely.
func decodeAll(t *testing.T, code []byte) []string {
	t.Helper()
	var out []string
	for len(code) > 0 {
		in, err := x86asm.Decode(code, 64)
		if err != nil {
			t.Fatalf("decode % x: %v", code, err)
		}
		out = append(out, x86asm.IntelSyntax(in, 0, nil))
		code = code[in.Len:]
	}
	return out
}

func check(t *testing.T, want string, emit func(a *Asm)) {
	t.Helper()
	var a Asm
	emit(&a)
	got := decodeAll(t, a.Buf)
	if len(got) != 1 || got[0] != want {
		t.Errorf("% x decodes as %q, want %q", a.Buf, got, want)
	}
}

// TestMemoryOperands covers every base register with displacements of
// zero, 8 and 32 bits, and every base/index pair, at each width: this is
// where REX.B/REX.X, the RBP/R13 disp8 rule and the RSP/R12 SIB rule show.
func TestMemoryOperands(t *testing.T) {
	for base := RAX; base <= R15; base++ {
		for _, disp := range []int32{0, 8, -8, 127, -128, 128, -129, 0x12345, -0x12345} {
			m := M(base, disp)
			for _, w := range []Width{W8, W16, W32, W64} {
				for _, r := range []Reg{RAX, RSI, RDI, R8, R12, R13, R15} {
					check(t, fmt.Sprintf("mov %s ptr %s, %s", ptr(w), memText(m), regName(w, r)), func(a *Asm) { a.Store(w, m, r) })
				}
			}
			check(t, fmt.Sprintf("mov rdx, qword ptr %s", memText(m)), func(a *Asm) { a.Load(W64, RDX, m) })
			check(t, fmt.Sprintf("mov r11d, dword ptr %s", memText(m)), func(a *Asm) { a.Load(W32, R11, m) })
			check(t, fmt.Sprintf("movzx esi, word ptr %s", memText(m)), func(a *Asm) { a.Load(W16, RSI, m) })
			check(t, fmt.Sprintf("movzx r13d, byte ptr %s", memText(m)), func(a *Asm) { a.Load(W8, R13, m) })
			check(t, fmt.Sprintf("movsx r12, byte ptr %s", memText(m)), func(a *Asm) { a.LoadSX(W8, R12, m) })
			check(t, fmt.Sprintf("movsx rbp, word ptr %s", memText(m)), func(a *Asm) { a.LoadSX(W16, RBP, m) })
			check(t, fmt.Sprintf("movsxd rdi, dword ptr %s", memText(m)), func(a *Asm) { a.LoadSX(W32, RDI, m) })
			check(t, fmt.Sprintf("lea r9, ptr %s", memText(m)), func(a *Asm) { a.Lea(R9, m) })
			check(t, fmt.Sprintf("mov byte ptr %s, 0xfe", memText(m)), func(a *Asm) { a.StoreImm(W8, m, -2) })
			check(t, fmt.Sprintf("mov word ptr %s, 0x1234", memText(m)), func(a *Asm) { a.StoreImm(W16, m, 0x1234) })
			check(t, fmt.Sprintf("mov dword ptr %s, -0x80000000", memText(m)), func(a *Asm) { a.StoreImm(W32, m, -0x80000000) })
			check(t, fmt.Sprintf("mov qword ptr %s, -0x1", memText(m)), func(a *Asm) { a.StoreImm(W64, m, -1) })
			check(t, fmt.Sprintf("lock xadd qword ptr %s, r13", memText(m)), func(a *Asm) { a.Xadd(W64, m, R13) })
			check(t, fmt.Sprintf("lock xadd dword ptr %s, esi", memText(m)), func(a *Asm) { a.Xadd(W32, m, RSI) })
			check(t, fmt.Sprintf("xchg qword ptr %s, r12", memText(m)), func(a *Asm) { a.Xchg(W64, m, R12) })
			check(t, fmt.Sprintf("lock cmpxchg dword ptr %s, r11d", memText(m)), func(a *Asm) { a.CmpXchg(W32, m, R11) })
			check(t, fmt.Sprintf("lock or qword ptr %s, rbx", memText(m)), func(a *Asm) { a.ALUMR(W64, OR, m, RBX, true) })
			check(t, fmt.Sprintf("and dword ptr %s, r14d", memText(m)), func(a *Asm) { a.ALUMR(W32, AND, m, R14, false) })
			check(t, fmt.Sprintf("cmp r10, qword ptr %s", memText(m)), func(a *Asm) { a.ALURM(W64, CMP, R10, m) })
			check(t, fmt.Sprintf("jmp qword ptr %s", memText(m)), func(a *Asm) { a.JmpM(m) })
			for index := RAX; index <= R15; index++ {
				if index == RSP {
					continue // not encodable as an index
				}
				mi := MI(base, index, disp)
				check(t, fmt.Sprintf("mov qword ptr %s, rcx", memText(mi)), func(a *Asm) { a.Store(W64, mi, RCX) })
				check(t, fmt.Sprintf("movzx eax, byte ptr %s", memText(mi)), func(a *Asm) { a.Load(W8, RAX, mi) })
			}
		}
	}
}

// TestHandEncoded pins exact bytes for the cases that are easy to get
// wrong, from the Intel SDM's encoding tables: they must be the shortest
// forms, not just decodable ones.
func TestHandEncoded(t *testing.T) {
	cases := []struct {
		name string
		emit func(a *Asm)
		want []byte
	}{
		// [r13] needs mod=01 with disp8 0; rm=101 with mod=00 would mean RIP.
		{"load [r13]", func(a *Asm) { a.Load(W64, RAX, M(R13, 0)) }, []byte{0x49, 0x8b, 0x45, 0x00}},
		{"load [rbp]", func(a *Asm) { a.Load(W64, RAX, M(RBP, 0)) }, []byte{0x48, 0x8b, 0x45, 0x00}},
		// [r12] needs a SIB byte 0x24; rm=100 alone means "SIB follows".
		{"load [r12]", func(a *Asm) { a.Load(W64, RAX, M(R12, 0)) }, []byte{0x49, 0x8b, 0x04, 0x24}},
		{"load [rsp+8]", func(a *Asm) { a.Load(W64, RAX, M(RSP, 8)) }, []byte{0x48, 0x8b, 0x44, 0x24, 0x08}},
		// A byte store from SIL needs an empty REX (0x40), or it is DH.
		{"store sil", func(a *Asm) { a.Store(W8, M(RAX, 0), RSI) }, []byte{0x40, 0x88, 0x30}},
		{"store dl", func(a *Asm) { a.Store(W8, M(RAX, 0), RDX) }, []byte{0x88, 0x10}},
		// 32-bit mov zero-extends and needs no REX.W.
		{"mov eax, r12d", func(a *Asm) { a.MovRR(W32, RAX, R12) }, []byte{0x44, 0x89, 0xe0}},
		{"mov r13d, r13d", func(a *Asm) { a.MovRR(W32, R13, R13) }, []byte{0x45, 0x89, 0xed}},
		// Shifts through CL: D3 /4 (shl) /5 (shr) /7 (sar).
		{"shl r12, cl", func(a *Asm) { a.ShiftCL(W64, SHL, R12) }, []byte{0x49, 0xd3, 0xe4}},
		{"shr r13d, cl", func(a *Asm) { a.ShiftCL(W32, SHR, R13) }, []byte{0x41, 0xd3, 0xed}},
		{"sar rax, cl", func(a *Asm) { a.ShiftCL(W64, SAR, RAX) }, []byte{0x48, 0xd3, 0xf8}},
		{"rol r12w, 8", func(a *Asm) { a.ShiftImm(W16, ROL, R12, 8) }, []byte{0x66, 0x41, 0xc1, 0xc4, 0x08}},
		{"movzx eax, sil", func(a *Asm) { a.Movzx(W8, RAX, RSI) }, []byte{0x40, 0x0f, 0xb6, 0xc6}},
		{"movabs", func(a *Asm) { a.MovImm(R12, 0x1122334455667788) }, []byte{0x49, 0xbc, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11}},
		{"mov r13d, imm", func(a *Asm) { a.MovImm(R13, 0xffffffff) }, []byte{0x41, 0xbd, 0xff, 0xff, 0xff, 0xff}},
		{"mov rax, -1", func(a *Asm) { a.MovImm(RAX, -1) }, []byte{0x48, 0xc7, 0xc0, 0xff, 0xff, 0xff, 0xff}},
		{"xor r12d, r12d", func(a *Asm) { a.MovImm(R12, 0) }, []byte{0x45, 0x31, 0xe4}},
		{"add r12, 1", func(a *Asm) { a.ALURI(W64, ADD, R12, 1) }, []byte{0x49, 0x83, 0xc4, 0x01}},
		{"bswap r13", func(a *Asm) { a.Bswap(W64, R13) }, []byte{0x49, 0x0f, 0xcd}},
		{"bswap r12d", func(a *Asm) { a.Bswap(W32, R12) }, []byte{0x41, 0x0f, 0xcc}},
	}
	for _, c := range cases {
		var a Asm
		c.emit(&a)
		if !bytes.Equal(a.Buf, c.want) {
			t.Errorf("%s: got % x, want % x", c.name, a.Buf, c.want)
		}
		decodeAll(t, a.Buf)
	}
}

// TestRegisterForms covers every register in the register-direct forms.
func TestRegisterForms(t *testing.T) {
	aluNames := map[ALUOp]string{ADD: "add", OR: "or", AND: "and", SUB: "sub", XOR: "xor", CMP: "cmp"}
	shiftNames := map[ShiftOp]string{SHL: "shl", SHR: "shr", SAR: "sar", ROL: "rol"}
	for d := RAX; d <= R15; d++ {
		if d == RSP {
			continue
		}
		for _, w := range []Width{W32, W64} {
			for s := RAX; s <= R15; s++ {
				check(t, fmt.Sprintf("mov %s, %s", regName(w, d), regName(w, s)), func(a *Asm) { a.MovRR(w, d, s) })
				check(t, fmt.Sprintf("imul %s, %s", regName(w, d), regName(w, s)), func(a *Asm) { a.IMulRR(w, d, s) })
				check(t, fmt.Sprintf("test %s, %s", regName(w, d), regName(w, s)), func(a *Asm) { a.TestRR(w, d, s) })
				check(t, fmt.Sprintf("cmovl %s, %s", regName(w, d), regName(w, s)), func(a *Asm) { a.Cmovcc(w, CondL, d, s) })
				for op, n := range aluNames {
					check(t, fmt.Sprintf("%s %s, %s", n, regName(w, d), regName(w, s)), func(a *Asm) { a.ALURR(w, op, d, s) })
				}
			}
			for op, n := range aluNames {
				check(t, fmt.Sprintf("%s %s, 0x7f", n, regName(w, d)), func(a *Asm) { a.ALURI(w, op, d, 127) })
				check(t, fmt.Sprintf("%s %s, 0x80", n, regName(w, d)), func(a *Asm) { a.ALURI(w, op, d, 128) })
			}
			for op, n := range shiftNames {
				check(t, fmt.Sprintf("%s %s, cl", n, regName(w, d)), func(a *Asm) { a.ShiftCL(w, op, d) })
				check(t, fmt.Sprintf("%s %s, 0x3", n, regName(w, d)), func(a *Asm) { a.ShiftImm(w, op, d, 3) })
			}
			check(t, fmt.Sprintf("neg %s", regName(w, d)), func(a *Asm) { a.UnaryR(w, NEG, d) })
			check(t, fmt.Sprintf("div %s", regName(w, d)), func(a *Asm) { a.UnaryR(w, DIV, d) })
			check(t, fmt.Sprintf("idiv %s", regName(w, d)), func(a *Asm) { a.UnaryR(w, IDIV, d) })
			check(t, fmt.Sprintf("bswap %s", regName(w, d)), func(a *Asm) { a.Bswap(w, d) })
			check(t, fmt.Sprintf("imul %s, %s, 0x10", regName(w, d), regName(w, R13)), func(a *Asm) { a.IMulRRI(w, d, R13, 16) })
			check(t, fmt.Sprintf("imul %s, %s, 0x1000", regName(w, d), regName(w, R12)), func(a *Asm) { a.IMulRRI(w, d, R12, 4096) })
			check(t, fmt.Sprintf("movsx %s, %s", regName(w, d), regName(W8, R12)), func(a *Asm) { a.Movsx(w, W8, d, R12) })
			check(t, fmt.Sprintf("movsx %s, %s", regName(w, d), regName(W8, RDI)), func(a *Asm) { a.Movsx(w, W8, d, RDI) })
			check(t, fmt.Sprintf("movsx %s, %s", regName(w, d), regName(W16, RBP)), func(a *Asm) { a.Movsx(w, W16, d, RBP) })
		}
		for s := RAX; s <= R15; s++ {
			check(t, fmt.Sprintf("movzx %s, %s", regName(W32, d), regName(W8, s)), func(a *Asm) { a.Movzx(W8, d, s) })
			check(t, fmt.Sprintf("movzx %s, %s", regName(W32, d), regName(W16, s)), func(a *Asm) { a.Movzx(W16, d, s) })
			check(t, fmt.Sprintf("movsxd %s, %s", regName(W64, d), regName(W32, s)), func(a *Asm) { a.Movsx(W64, W32, d, s) })
		}
		check(t, fmt.Sprintf("rol %s, 0x8", regName(W16, d)), func(a *Asm) { a.ShiftImm(W16, ROL, d, 8) })
		check(t, fmt.Sprintf("setb %s", regName(W8, d)), func(a *Asm) { a.Setcc(CondB, d) })
		check(t, fmt.Sprintf("jmp %s", regName(W64, d)), func(a *Asm) { a.JmpR(d) })
		for _, v := range []int64{1, 0x7fffffff, 0x80000000, 0xffffffff} {
			// x86asm prints the imm32 of "mov r32, imm32" signed.
			check(t, fmt.Sprintf("mov %s, %s", regName(W32, d), signedHex(int32(uint32(v)))), func(a *Asm) { a.MovImm(d, v) })
		}
		check(t, fmt.Sprintf("mov %s, -0x80000000", regName(W64, d)), func(a *Asm) { a.MovImm(d, -0x80000000) })
		check(t, fmt.Sprintf("mov %s, 0x100000000", regName(W64, d)), func(a *Asm) { a.MovImm(d, 0x100000000) })
		check(t, fmt.Sprintf("xor %s, %s", regName(W32, d), regName(W32, d)), func(a *Asm) { a.MovImm(d, 0) })
	}
	check(t, "cqo", func(a *Asm) { a.Cqo(W64) })
	check(t, "cdq", func(a *Asm) { a.Cqo(W32) })
	check(t, "mfence", func(a *Asm) { a.Mfence() })
	check(t, "ret", func(a *Asm) { a.Ret() })
}

// TestLabels checks forward and backward branches by executing the
// displacement arithmetic through the decoder: each branch must land on
// its label's offset.
func TestLabels(t *testing.T) {
	var a Asm
	back := a.NewLabel()
	fwd := a.NewLabel()
	a.Bind(back)
	a.MovImm(RAX, 1)
	backAt, _ := a.Bound(back)
	a.Jcc(CondNE, fwd)
	a.Jmp(back)
	a.Call(fwd)
	a.LeaRIP(R11, fwd)
	a.MovImm(RCX, 2)
	a.Bind(fwd)
	fwdAt, _ := a.Bound(fwd)
	a.Ret()
	if err := a.Finish(); err != nil {
		t.Fatal(err)
	}
	code := a.Buf
	pc := 0
	var targets []int
	for pc < len(code) {
		in, err := x86asm.Decode(code[pc:], 64)
		if err != nil {
			t.Fatal(err)
		}
		next := pc + in.Len
		for _, arg := range in.Args {
			switch v := arg.(type) {
			case x86asm.Rel:
				targets = append(targets, next+int(v))
			case x86asm.Mem:
				if v.Base == x86asm.RIP {
					targets = append(targets, next+int(v.Disp))
				}
			}
		}
		pc = next
	}
	want := []int{fwdAt, backAt, fwdAt, fwdAt}
	if fmt.Sprint(targets) != fmt.Sprint(want) {
		t.Errorf("branch targets %v, want %v", targets, want)
	}

	var b Asm
	b.Jmp(b.NewLabel())
	if err := b.Finish(); err == nil {
		t.Error("Finish with an unbound label succeeded")
	}
}

func signedHex(v int32) string {
	if v < 0 {
		return fmt.Sprintf("-0x%x", -int64(v))
	}
	return fmt.Sprintf("0x%x", v)
}
