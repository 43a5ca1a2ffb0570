//go:build amd64 && unix

package jit

import (
	"errors"
	"math/rand/v2"
	"testing"
	"unsafe"

	. "github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/internal/testenv"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/prog"
)

func bothSpec(t *testing.T, spec *prog.Spec, run func(r interface {
	RunSocketFilter([]byte, *interp.SKBMeta) (uint32, error)
	RunKprobe(*interp.PtRegs) (uint64, error)
}) (uint64, error)) (uint64, error) {
	t.Helper()
	ivm, err := interp.New(spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, werr := run(ivm)
	vm, err := New(spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Close()
	got, gerr := run(vm)
	if got != want || normErr(gerr, nil) != normErr(werr, nil) {
		t.Errorf("jit = %#x, %v; interp = %#x, %v\n%s", got, gerr, want, werr, spec.Instructions)
	}
	// The Runners of both engines, twice each: the same results (a
	// Runner binds the context only when the program needs it).
	irn, err := ivm.NewRunner()
	if err != nil {
		t.Fatal(err)
	}
	defer irn.Close()
	jrn, err := vm.NewRunner()
	if err != nil {
		t.Fatal(err)
	}
	defer jrn.Close()
	for k := range 2 {
		for name, rn := range map[string]interface {
			RunSocketFilter([]byte, *interp.SKBMeta) (uint32, error)
			RunKprobe(*interp.PtRegs) (uint64, error)
		}{"interp Runner": irn, "jit Runner": jrn} {
			if r, err := run(rn); r != want || normErr(err, nil) != normErr(werr, nil) {
				t.Errorf("%s, run %d = %#x, %v; interp = %#x, %v\n%s", name, k, r, err, want, werr, spec.Instructions)
			}
		}
	}
	return got, gerr
}

// TestSocketFilter runs __sk_buff field reads, cb[] writes, LD_ABS/LD_IND
// and a rejected field in both engines.
func TestSocketFilter(t *testing.T) {
	pkt := make([]byte, 60)
	pkt[12], pkt[13], pkt[20] = 0x08, 0x00, 0x7f
	is := Instructions{
		Mov.Reg(R6, R1),
		LoadMem(R7, R6, 0, W),  // len
		StoreImm(R6, 48, 5, W), // cb[0]
		LoadMem(R8, R6, 48, W),
		Add.Reg(R7, R8),
		LoadAbs(12, H), // 0x0800
		Add.Reg(R7, R0),
		Mov.Imm(R2, 8),
		LoadInd(R2, 12, B), // pkt[20]
		Add.Reg(R0, R7),
		Exit(),
	}
	spec := &prog.Spec{Name: "sf", Type: prog.SocketFilter, Instructions: is}
	got, err := bothSpec(t, spec, func(r interface {
		RunSocketFilter([]byte, *interp.SKBMeta) (uint32, error)
		RunKprobe(*interp.PtRegs) (uint64, error)
	}) (uint64, error) {
		v, err := r.RunSocketFilter(pkt, nil)
		return uint64(v), err
	})
	if err != nil || got != 60+5+0x800+0x7f {
		t.Errorf("got %#x, %v", got, err)
	}
	// LD_ABS past the packet ends the program with r0 = 0.
	spec = &prog.Spec{Name: "sf2", Type: prog.SocketFilter, Instructions: Instructions{Mov.Imm(R0, 9), CallLocal("f"), Exit(), LoadAbs(1000, W).WithLabel("f"), Mov.Imm(R0, 7), Exit()}}
	got, err = bothSpec(t, spec, func(r interface {
		RunSocketFilter([]byte, *interp.SKBMeta) (uint32, error)
		RunKprobe(*interp.PtRegs) (uint64, error)
	}) (uint64, error) {
		v, err := r.RunSocketFilter(pkt, nil)
		return uint64(v), err
	})
	if err != nil || got != 0 {
		t.Errorf("ld_abs out of bounds: %#x, %v", got, err)
	}
	// A write to a read-only field is interp's error.
	spec = &prog.Spec{Name: "sf3", Type: prog.SocketFilter, Instructions: Instructions{StoreImm(R1, 0, 1, W), Mov.Imm(R0, 0), Exit()}}
	_, err = bothSpec(t, spec, func(r interface {
		RunSocketFilter([]byte, *interp.SKBMeta) (uint32, error)
		RunKprobe(*interp.PtRegs) (uint64, error)
	}) (uint64, error) {
		v, err := r.RunSocketFilter(pkt, nil)
		return uint64(v), err
	})
	if !errors.Is(err, interp.ErrMemoryAccess) && !errors.Is(err, interp.ErrContext) {
		t.Errorf("write to skb->len: %v", err)
	}
}

// TestKprobe reads pt_regs fields.
func TestKprobe(t *testing.T) {
	regs := &interp.PtRegs{}
	// di is field 14 of struct pt_regs (r15 r14 r13 r12 bp bx r11 r10 r9 r8 ax cx dx si di ...).
	is := Instructions{LoadMem(R0, R1, 14*8, DW), LoadMem(R2, R1, 13*8, DW), Add.Reg(R0, R2), Exit()}
	spec := &prog.Spec{Name: "kp", Type: prog.Kprobe, Instructions: is}
	setRegs(regs)
	got, err := bothSpec(t, spec, func(r interface {
		RunSocketFilter([]byte, *interp.SKBMeta) (uint32, error)
		RunKprobe(*interp.PtRegs) (uint64, error)
	}) (uint64, error) {
		return r.RunKprobe(regs)
	})
	if err != nil || got != 14+13 {
		t.Errorf("got %d, %v", got, err)
	}
}

// setRegs stores k in the k-th 8-byte field of regs.
func setRegs(regs *interp.PtRegs) {
	b := (*[21]uint64)(unsafePointer(regs))
	for k := range b {
		b[k] = uint64(k)
	}
}

// genALU generates a program of random 64- and 32-bit ALU operations and
// forward conditional jumps over r0-r5, all initialised first. v4 adds
// the cpu v4 operations sdiv, smod and movsx.
func genALU(rng *rand.Rand, n int, v4 bool) Instructions {
	var is Instructions
	for r := R0; r <= R5; r++ {
		is = append(is, LoadImm64(r, int64(rng.Uint64())))
	}
	ops := []ALUOp{Add, Sub, Mul, Div, Or, And, LSh, RSh, Mod, Xor, Mov, ArSh}
	if v4 {
		ops = append(ops, SDiv, SMod, MovSX8, MovSX16, MovSX32)
	}
	jops := []JumpOp{JEq, JGT, JGE, JSet, JNE, JSGT, JSGE, JLT, JLE, JSLT, JSLE}
	for k := 0; k < n; k++ {
		dst, src := Register(rng.IntN(6)), Register(rng.IntN(6))
		imm := int32(rng.Uint32())
		if rng.IntN(3) == 0 {
			imm = int32(rng.IntN(70)) - 3
		}
		if rng.IntN(6) == 0 {
			j := jops[rng.IntN(len(jops))]
			label := "l" + string(rune('a'+k%26)) + string(rune('a'+k/26))
			var ji Instruction
			switch rng.IntN(4) {
			case 0:
				ji = j.Imm(dst, imm, label)
			case 1:
				ji = j.Reg(dst, src, label)
			case 2:
				ji = j.Imm32(dst, imm, label)
			default:
				ji = j.Reg32(dst, src, label)
			}
			is = append(is, ji, Add.Imm(R0, int32(k)), Xor.Reg(R0, dst).WithLabel(label))
			continue
		}
		op := ops[rng.IntN(len(ops))]
		is64 := rng.IntN(2) == 0
		useReg := rng.IntN(2) == 0
		switch op {
		case LSh, RSh, ArSh:
			if is64 {
				imm &= 63
			} else {
				imm &= 31
			}
		case Div, SDiv, Mod, SMod:
			if imm == 0 {
				imm = 3 // the verifier rejects division by a zero immediate
			}
		case MovSX8, MovSX16, MovSX32:
			useReg = true
			if op == MovSX32 {
				is64 = true
			}
		}
		var i Instruction
		switch {
		case is64 && useReg:
			i = op.Reg(dst, src)
		case is64:
			i = op.Imm(dst, imm)
		case useReg:
			i = op.Reg32(dst, src)
		default:
			i = op.Imm32(dst, imm)
		}
		is = append(is, i)
	}
	is = append(is, Xor.Reg(R0, R1), Add.Reg(R0, R2), Xor.Reg(R0, R3), Add.Reg(R0, R4), Xor.Reg(R0, R5), Mov.Reg(R2, R0), RSh.Imm(R2, 32), Xor.Reg(R0, R2), Exit())
	return is
}

func unsafePointer(p *interp.PtRegs) unsafe.Pointer { return unsafe.Pointer(p) }

// TestSocketFilterVerdictIsU32 checks that a socket filter's verdict is
// the low half of r0, as the kernel's bpf_prog_run returns it (a u32), in
// interp, in the jit VM, in a jit Runner, and in the kernel through
// BPF_PROG_TEST_RUN where it may load programs.
func TestSocketFilterVerdictIsU32(t *testing.T) {
	is := Instructions{LoadImm64(R0, 0x7_0000_0005), Exit()}
	spec := &prog.Spec{Name: "u32", Type: prog.SocketFilter, License: "GPL", Instructions: is}
	pkt := make([]byte, 64)
	ivm, err := interp.New(spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	vm, err := New(spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Close()
	rn, err := vm.NewRunner()
	if err != nil {
		t.Fatal(err)
	}
	defer rn.Close()
	irn, err := ivm.NewRunner()
	if err != nil {
		t.Fatal(err)
	}
	defer irn.Close()
	for name, run := range map[string]func([]byte, *interp.SKBMeta) (uint32, error){
		"interp": ivm.RunSocketFilter, "interp Runner": irn.RunSocketFilter,
		"jit": vm.RunSocketFilter, "jit Runner": rn.RunSocketFilter,
	} {
		if got, err := run(pkt, nil); err != nil || got != 5 {
			t.Errorf("%s: verdict %#x, %v; want 5", name, got, err)
		}
	}
	testenv.RequireRoot(t)
	kp, err := prog.NewProgram(spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer kp.Close()
	if got, err := kp.RunSocketFilter(pkt); err != nil || got != 5 {
		t.Errorf("kernel: verdict %#x, %v; want 5", got, err)
	}
}
