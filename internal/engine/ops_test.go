package engine

import (
	"bytes"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strings"
	"testing"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/internal/engine/internal/optab"
)

// TestOpsGenerated fails when ops_gen.go is not what the table in
// internal/optab generates: run `go generate ./internal/engine`.
func TestOpsGenerated(t *testing.T) {
	want, err := optab.Generate()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("ops_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("ops_gen.go is out of date with internal/optab: run go generate ./internal/engine")
	}
	if len(optab.Ops) != numOps {
		t.Fatalf("%d ops in the table, %d generated", len(optab.Ops), numOps)
	}
	for k, row := range optab.Ops {
		if o := op(k); o.String() != row.Name {
			t.Errorf("op %d is %s, the table's row %d is %s", k, o, k, row.Name)
		}
	}
}

// decodeCandidates enumerates instructions over every opcode byte and the
// field values that select variants, and returns those Validate accepts.
func decodeCandidates() []insn.Instruction {
	offs := []int16{0, 1, 8, 16, 32}
	imms := []int64{0, 1, 16, 32, 64, int64(insn.FnTailCall), int64(insn.FnMapLookupElem),
		int64(insn.AtomicLoadAcquire), int64(insn.AtomicStoreRelease), int64(insn.AtomicFetchAdd), 1 << 16}
	var out []insn.Instruction
	for code := 0; code < 256; code++ {
		for _, dst := range []insn.Register{r0, r1} {
			for src := insn.Register(0); src <= 6; src++ {
				for _, off := range offs {
					for _, imm := range imms {
						i := insn.Instruction{OpCode: insn.OpCode(code), Dst: dst, Src: src, Offset: off, Imm: imm}
						if (insn.Instructions{i, insn.Exit()}).Validate() == nil {
							out = append(out, i)
						}
					}
				}
			}
		}
	}
	return out
}

// TestOpsDecodable checks that the decoder reaches every op the table
// gives an encoding, from instructions built independently of the table,
// and that every valid instruction decodes or is refused for a reason the
// engine names (kfunc calls, arenas, lddw sources without a userspace
// meaning).
func TestOpsDecodable(t *testing.T) {
	d := &decoder{ctx: ctxMemory, helpers: DefaultHelpers(), mapIndex: func(insn.Instruction) (int, error) { return 0, nil },
		kfunc: func(insn.Instruction) (int64, error) { return 0, ErrUnknownKfunc }}
	reached := map[op]bool{}
	for _, i := range decodeCandidates() {
		di, err := d.decodeOne(i, 0)
		if err != nil {
			msg := err.Error()
			if i.IsKfuncCall() || i.IsAddrSpaceCast() || i.OpCode == insn.OpLdImm64 && strings.Contains(msg, "not supported in userspace") {
				continue
			}
			if errors.Is(err, ErrUnknownHelper) {
				continue // helper numbers the registry lacks
			}
			t.Errorf("%v (%#02x src %d off %d imm %#x): %v", i, uint8(i.OpCode), i.Src, i.Offset, i.Imm, err)
			continue
		}
		reached[di.op] = true
		if di.op.kind() == kindInvalid {
			t.Errorf("%v decodes to %s", i, di.op)
		}
	}
	for k, row := range optab.Ops {
		o := op(k)
		switch {
		case len(row.Enc) == 0 && reached[o]:
			t.Errorf("op %s has no encoding in the table but the decoder made it", o)
		case len(row.Enc) > 0 && !reached[o]:
			t.Errorf("op %s: no valid instruction decodes to it", o)
		}
	}
}

// TestOpsHandled checks, in exec.go's source, that every op that can run
// has a case in the run loop: fast handles it, or exec's switch does
// (fast's default and the fast cases that return fastSlow hand it to
// exec), so that no op falls to exec's default by accident. It also checks
// that every op has a kind and stackReach a case for every reach rule.
func TestOpsHandled(t *testing.T) {
	fset := token.NewFileSet()
	var files []*ast.File
	for _, name := range []string{"exec.go", "decode.go"} {
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	// cases returns the identifiers of the cases of the switches on tag
	// in function fn, and for each whether its body mentions ident.
	cases := func(fn, tag, ident string) map[string]bool {
		out := map[string]bool{}
		for _, f := range files {
			for _, decl := range f.Decls {
				fd, ok := decl.(*ast.FuncDecl)
				if !ok || fd.Name.Name != fn {
					continue
				}
				ast.Inspect(fd.Body, func(n ast.Node) bool {
					sw, ok := n.(*ast.SwitchStmt)
					if !ok || sw.Tag == nil || exprString(sw.Tag) != tag {
						return true
					}
					for _, s := range sw.Body.List {
						cc := s.(*ast.CaseClause)
						mentions := false
						for _, b := range cc.Body {
							ast.Inspect(b, func(n ast.Node) bool {
								if id, ok := n.(*ast.Ident); ok && id.Name == ident {
									mentions = true
								}
								return true
							})
						}
						for _, e := range cc.List {
							out[exprString(e)] = out[exprString(e)] || mentions
						}
					}
					return true
				})
			}
		}
		if len(out) == 0 {
			t.Fatalf("no switch on %s in %s", tag, fn)
		}
		return out
	}
	fast := cases("fast", "in.op", "fastSlow")
	slow := cases("resume", "in.op", "") // exec's loop
	names := map[string]bool{}
	for k := 0; k < numOps; k++ {
		o := op(k)
		name := "op" + o.String()
		names[name] = true
		leaves, inFast := fast[name]
		if o.kind() == kindInvalid {
			continue // never executed: exec's default reports it
		}
		if _, inSlow := slow[name]; (!inFast || leaves) && !inSlow {
			if inFast {
				t.Errorf("%s: fast hands it to exec, which has no case for it", name)
			} else {
				t.Errorf("%s: neither fast nor exec has a case for it", name)
			}
		}
		if opInfos[o].reach == 0 || opInfos[o].budget == 0 || opInfos[o].slots == 0 {
			t.Errorf("%s: no reach rule, budget or slots: %+v", name, opInfos[o])
		}
	}
	for _, m := range []map[string]bool{fast, slow} {
		for name := range m {
			if !names[name] && name != "?" {
				t.Errorf("exec.go has a case for %s, which is no op", name)
			}
		}
	}
	rules := cases("stackReach", "opInfos[in.op].reach", "")
	for _, r := range optab.ReachNames[1:] {
		if _, ok := rules[r]; !ok {
			t.Errorf("stackReach has no case for %s", r)
		}
	}
}

func exprString(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name
	case *ast.SelectorExpr:
		return exprString(e.X) + "." + e.Sel.Name
	case *ast.IndexExpr:
		return exprString(e.X) + "[" + exprString(e.Index) + "]"
	}
	return "?"
}

// TestByteOrderOps decodes every byte-order instruction as a
// little-endian and as a big-endian host would: bswap always swaps, le
// swaps only on a big-endian host and be only on a little-endian one;
// what does not swap truncates.
func TestByteOrderOps(t *testing.T) {
	defer func(h bool) { hostLittle = h }(hostLittle)
	d := &decoder{ctx: ctxMemory, helpers: DefaultHelpers()}
	for _, little := range []bool{true, false} {
		hostLittle = little
		for _, c := range []struct {
			i    func(bits int32) insn.Instruction
			swap bool
		}{
			{func(b int32) insn.Instruction { return insn.BSwap(r1, b) }, true},
			{func(b int32) insn.Instruction { return insn.ToLE(r1, b) }, !little},
			{func(b int32) insn.Instruction { return insn.ToBE(r1, b) }, little},
		} {
			for k, bits := range []int32{16, 32, 64} {
				want := [2][3]op{{opTrunc16, opTrunc32, opNop}, {opBswap16, opBswap32, opBswap64}}[b2i(c.swap)][k]
				i := c.i(bits)
				di, err := d.decodeOne(i, 0)
				if err != nil || di.op != want {
					t.Errorf("little-endian host %v: %v decodes to %v, %v; want %v", little, i, di.op, err, want)
				}
			}
		}
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
