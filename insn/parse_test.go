package insn_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/purebpf/purebpf/insn"
)

// labelProgram uses every kind of label reference.
const labelProgram = `# count down from r1, calling a local function
start:
	r0 = 0
	r6 = func(double) ll
loop:	if r1 == 0 goto done   // leave
	r0 += 1
	r1 -= 1
	may_goto done
	goto loop
done:
	call double ; a bpf-to-bpf call
	gotol end
	r1 = map_fd(counters) ll
	r2 = map_value(.rodata, 16) ll
end:
	exit
double:
	r0 *= 2
	exit
`

func TestParseLabels(t *testing.T) {
	is, err := insn.Parse(labelProgram)
	if err != nil {
		t.Fatal(err)
	}
	b, err := is.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	// Slots: 0 r0=0, 1-2 r6=func, 3 if, 4 r0+=1, 5 r1-=1, 6 may_goto,
	// 7 goto, 8 call, 9 gotol, 10-11 map_fd, 12-13 map_value, 14 exit,
	// 15 r0*=2, 16 exit. Offsets are target - pc - 1.
	want := hexBytes(t, `
		b7 00 0000 00000000
		18 46 0000 0d000000 00 00 0000 00000000
		15 01 0400 00000000
		07 00 0000 01000000
		17 01 0000 01000000
		e5 00 0100 00000000
		05 00 fbff 00000000
		85 10 0000 06000000
		06 00 0000 04000000
		18 01 0000 00000000 00 00 0000 00000000
		18 02 0000 00000000 00 00 0000 10000000
		95 00 0000 00000000
		27 00 0000 02000000
		95 00 0000 00000000`)
	// The map references keep src 1 and 2; the fds are filled in by the
	// loader, and the names are in Ref.
	want[10*8+1] = 0x11
	want[12*8+1] = 0x22
	if !bytes.Equal(b, want) {
		t.Fatalf("got\n%x\nwant\n%x", b, want)
	}
	if got := is.MapReferences(); len(got) != 2 || got[0] != "counters" || got[1] != ".rodata" {
		t.Errorf("MapReferences() = %q", got)
	}
	if is[0].Label != "start" || is[2].Label != "loop" || is[2].Ref != "done" || is[7].Ref != "double" {
		t.Errorf("labels and references: %+v", is)
	}
	// String prints labels and references; it is stable and reparses to
	// the same bytes.
	text := is.String()
	again, err := insn.Parse(text)
	if err != nil {
		t.Fatalf("Parse(String()): %v\n%s", err, text)
	}
	if again.String() != text {
		t.Errorf("String is not stable:\n%s\n---\n%s", text, again.String())
	}
	b2, err := again.Marshal()
	if err != nil || !bytes.Equal(b2, b) {
		t.Errorf("String -> Parse -> Marshal = %x, %v", b2, err)
	}
}

func hexBytes(t *testing.T, s string) []byte {
	t.Helper()
	return encodingCase{hex: strings.Join(strings.Fields(s), "")}.raw()
}

// TestParseSpellings checks the accepted spellings that String does not
// print: hex and negative immediates, comments, w registers of 32-bit
// loads and stores, "r1 = -1 ll" and labels on the instruction's line.
func TestParseSpellings(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"if r1 > 0x5 goto +1\nexit\nexit", "25 01 0100 05000000" + exitHex + exitHex},
		{"r1 = -1 ll", "18 01 0000 ffffffff 00 00 0000 ffffffff"},
		{"r1 = -0x8000000000000000 ll", "18 01 0000 00000000 00 00 0000 00000080"},
		{"r0 = 0x7fffffff # comment", "b7 00 0000 ffffff7f"},
		{"w0 = 0xffffffff ; w registers take 32-bit patterns", "b4 00 0000 ffffffff"},
		{"if w0 == 0xffffffff goto +0 // same for jmp32\nexit", "16 00 0000 ffffffff" + exitHex},
		{"*(u32 *)(r10 - 4) = 0xffffffff", "62 0a fcff ffffffff"},
		{"w2 = *(u32 *)(r1 + 4)", "61 12 0400 00000000"},
		{"w2 = *(u8 *)(r1 + 4)", "71 12 0400 00000000"},
		{"*(u32 *)(r10 - 4) = w1", "63 1a fcff 00000000"},
		{"lock *(u32 *)(r1 + 0) += r2", "c3 21 0000 00000000"},
		{"r0 = load_acquire((u32 *)(r1 + 0))", "c3 10 0000 00010000"},
		{"x: exit", exitHex},
		{"\n\n  exit  \r\n\n", exitHex},
		{"r1 = 0X10", "b7 01 0000 10000000"},
		{"if r1 s>= -0x10 goto +0\nexit", "75 01 0000 f0ffffff" + exitHex},
		{"goto 0\nexit", "05 00 0000 00000000" + exitHex},
		{"r1 = *(u64 *)(r10 + -8)", "79 a1 f8ff 00000000"},
	} {
		is, err := insn.Parse(c.src)
		if err != nil {
			t.Errorf("%q: %v", c.src, err)
			continue
		}
		got, err := is.Marshal()
		if err != nil {
			t.Errorf("%q: Marshal: %v", c.src, err)
			continue
		}
		if want := hexBytes(t, c.want); !bytes.Equal(got, want) {
			t.Errorf("%q: got %x, want %x", c.src, got, want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct {
		src       string
		line, col int
		err       error
		msg       string // the whole message, when given
	}{
		{"r0 = ", 1, 6, insn.ErrSyntax, "line 1, column 6: expected operand, found end of line"},
		{"exit\nr0 + 1", 2, 4, insn.ErrSyntax, `line 2, column 4: expected assignment operator, found "+"`},
		{"r0 = 1 2", 1, 8, insn.ErrSyntax, `line 1, column 8: expected end of line, found "2"`},
		{"r0 = @", 1, 6, insn.ErrSyntax, `line 1, column 6: expected instruction text, found '@'`},
		{"r0 = 12ab", 1, 6, insn.ErrSyntax, `line 1, column 6: expected number, found "12ab"`},
		{"jump +1", 1, 1, insn.ErrSyntax, `line 1, column 1: expected instruction, found "jump"`},
		{"r11 = 1", 1, 1, insn.ErrBadRegister, ""},
		{"r01 = 1", 1, 1, insn.ErrBadRegister, ""},
		{"w1 += r2", 1, 7, insn.ErrBadRegister, ""},
		{"if r1 > w2 goto +0\nexit", 1, 9, insn.ErrBadRegister, ""},
		{"w1 = (s8)r2", 1, 10, insn.ErrBadRegister, ""},
		{"w1 = 1 ll", 1, 1, insn.ErrBadRegister, ""},
		{"w1 = *(u64 *)(r2 + 0)", 1, 1, insn.ErrBadRegister, ""},
		{"*(u64 *)(r1 + 0) = w2", 1, 20, insn.ErrBadRegister, ""},
		{"r1 = *(u32 *)(w2 + 0)", 1, 15, insn.ErrBadRegister, ""},
		{"r1 = -r2", 1, 7, insn.ErrSyntax, `line 1, column 7: expected "r1", found "r2"`},
		{"r1 = atomic_fetch_add((u64 *)(r10 - 8), r2)", 1, 41, insn.ErrSyntax, ""},
		{"r1 = cmpxchg_64(r10 - 8, r0, r1)", 1, 1, insn.ErrInvalidField, ""},
		{"goto nowhere\nexit", 1, 6, insn.ErrUnresolvedLabel, `line 1, column 6: label "nowhere" is not defined`},
		{"exit\n call f", 2, 7, insn.ErrUnresolvedLabel, ""},
		{"a:\nexit\n  a:\nexit", 3, 3, insn.ErrDuplicateLabel, ""},
		{"exit\nfoo:", 2, 1, insn.ErrSyntax, `line 2, column 1: expected instruction after label "foo", found end of input`},
		{"a:\nb: exit", 2, 1, insn.ErrSyntax, ""},
		{"r0 = 0x80000000", 1, 6, insn.ErrImmediateOverrun, ""},
		{"r0 += -2147483649", 1, 7, insn.ErrImmediateOverrun, ""},
		{"w0 = 0x100000000", 1, 6, insn.ErrImmediateOverrun, ""},
		{"r0 = 0x10000000000000000 ll", 1, 6, insn.ErrImmediateOverrun, ""},
		{"r1 = *(u8 *)(r1 + 32768)", 1, 19, insn.ErrInvalidField, ""},
		{"goto +32768", 1, 6, insn.ErrJumpOutOfRange, ""},
		{"r10 = 1", 1, 1, insn.ErrWriteFP, ""},
		{"exit\ngoto +5\nexit", 2, 1, insn.ErrJumpOutOfRange, ""},
		{"goto +1\nr0 = 1 ll\nexit", 1, 1, insn.ErrJumpIntoLdImm64, ""},
		{"r0 = bswap8 r0", 1, 6, insn.ErrSyntax, ""},
		{"r0 = le16 r1", 1, 11, insn.ErrSyntax, ""},
		{"lock *(u8 *)(r1 + 0) += w2", 1, 1, insn.ErrInvalidField, ""},
		{"r0 = *(u8 *)skb[r1 + 0x80000000]", 1, 22, insn.ErrImmediateOverrun, ""},
		{"r1 = *(u8 *)skb[4]", 1, 1, insn.ErrInvalidField, ""},
		{"r1 = map_fd(1, 2) ll", 1, 14, insn.ErrSyntax, ""},
		{"r1 = map_fd(x)", 1, 15, insn.ErrSyntax, `line 1, column 15: expected "ll", found end of line`},
	} {
		_, err := insn.Parse(c.src)
		var pe *insn.ParseError
		if !errors.As(err, &pe) {
			t.Errorf("%q: error %v is not a *ParseError", c.src, err)
			continue
		}
		if !errors.Is(err, c.err) {
			t.Errorf("%q: error %q does not wrap %q", c.src, err, c.err)
		}
		if pe.Line != c.line || pe.Column != c.col {
			t.Errorf("%q: error at line %d, column %d, want %d, %d (%v)", c.src, pe.Line, pe.Column, c.line, c.col, err)
		}
		if c.msg != "" && err.Error() != c.msg {
			t.Errorf("%q: error %q, want %q", c.src, err, c.msg)
		}
	}
}

// A validation error of Parse carries the *Error of Validate.
func TestParseValidationError(t *testing.T) {
	_, err := insn.Parse("exit\nr10 = 1")
	var ie *insn.Error
	if !errors.As(err, &ie) || ie.Slot != 1 || !errors.Is(err, insn.ErrWriteFP) {
		t.Fatalf("got %v, want an *Error at slot 1 wrapping ErrWriteFP", err)
	}
}
