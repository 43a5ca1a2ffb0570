package main

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/interp/maps"
	"github.com/purebpf/purebpf/jit"
	"github.com/purebpf/purebpf/prog"
)

// userspaceVM is a program loaded into interp or jit for run, with its
// maps: an object's program through a collection (so that the program
// arrays its tail calls go through hold the object's programs), other
// programs on their own.
type userspaceVM struct {
	vm        runner
	newRunner func() (runner, io.Closer, error)
	maps      map[string]maps.Map
	jvm       *jit.VM // the program, with --engine jit
	// programs are the loaded programs of an object by name (interp or
	// jit VMs), for --trace to follow tail calls.
	programs map[string]any
	close    func()
}

// loadUserspace loads p into the engine o names, with opts (whose Maps
// it sets).
func loadUserspace(p *program, o *runOptions, opts *interp.Options) (*userspaceVM, error) {
	lv := &userspaceVM{close: func() {}}
	if p.object != nil {
		return lv, lv.loadObject(p, o, opts)
	}
	ms, err := newUserspaceMaps(p)
	if err != nil {
		return nil, err
	}
	lv.maps = ms
	opts.Maps = ms
	if o.engine == "jit" {
		jvm, err := jit.New(p.spec, &jit.Options{Interp: opts})
		if err != nil {
			return nil, err
		}
		lv.setJIT(jvm)
		lv.close = func() { jvm.Close() }
		return lv, nil
	}
	ivm, err := interp.New(p.spec, opts)
	if err != nil {
		return nil, err
	}
	lv.setInterp(ivm)
	return lv, nil
}

// programName returns the name of the loaded program with the given ID
// (what program arrays hold), or "".
func (lv *userspaceVM) programName(id uint32) string {
	for name, vm := range lv.programs {
		if v, ok := vm.(interface{ ID() uint32 }); ok && v.ID() == id {
			return name
		}
	}
	return ""
}

func (lv *userspaceVM) setJIT(jvm *jit.VM) {
	lv.vm, lv.jvm = jvm, jvm
	lv.newRunner = func() (runner, io.Closer, error) {
		rn, err := jvm.NewRunner()
		return rn, rn, err
	}
}

func (lv *userspaceVM) setInterp(ivm *interp.VM) {
	lv.vm = ivm
	lv.newRunner = func() (runner, io.Closer, error) {
		rn, err := ivm.NewRunner()
		return rn, rn, err
	}
}

// loadObject loads p's program and the programs its program arrays
// name, with their maps, as a collection (runObjectSpec).
func (lv *userspaceVM) loadObject(p *program, o *runOptions, opts *interp.Options) error {
	spec := runObjectSpec(p)
	copts := &interp.CollectionOptions{Program: opts}
	lv.programs = map[string]any{}
	if o.engine == "jit" {
		c, err := jit.NewCollection(spec, copts, nil)
		if err != nil {
			return err
		}
		lv.close = func() { c.Close() }
		lv.maps = c.Maps
		for n, vm := range c.Programs {
			lv.programs[n] = vm
		}
		lv.setJIT(c.Programs[p.name])
		return nil
	}
	c, err := interp.NewCollection(spec, copts)
	if err != nil {
		return err
	}
	lv.maps = c.Maps
	for n, vm := range c.Programs {
		lv.programs[n] = vm
	}
	lv.setInterp(c.Programs[p.name])
	return nil
}

// runObjectSpec returns the part of p's object that running p's program
// in userspace needs: the program, the programs that the initialisers of
// the program arrays it uses name (and theirs, transitively), and the
// maps they all use. Other programs and maps of the object, which may
// have types userspace cannot load, stay out.
func runObjectSpec(p *program) *prog.CollectionSpec {
	cs := p.object
	need := map[string]bool{p.name: true}
	usedMaps := map[string]bool{}
	queue := []string{p.name}
	var useMap func(m string)
	useMap = func(m string) {
		om := cs.Maps[m]
		if usedMaps[m] || om == nil {
			return
		}
		usedMaps[m] = true
		for _, e := range om.Contents {
			name, ok := e.Value.(string)
			switch {
			case !ok:
			case om.Type == prog.ProgArray:
				if !need[name] && cs.Programs[name] != nil {
					need[name] = true
					queue = append(queue, name)
				}
			default: // map-in-map: the inner maps it starts with
				useMap(name)
			}
		}
	}
	for len(queue) > 0 {
		ps := cs.Programs[queue[0]]
		queue = queue[1:]
		for _, m := range ps.Instructions.MapReferences() {
			useMap(m)
		}
	}
	out := *cs
	out.Programs = map[string]*prog.ProgramSpec{}
	for name := range need {
		ps := *cs.Programs[name]
		ps.Autoload = true
		if name == p.name {
			ps.Spec = *p.spec // with --type applied
		}
		out.Programs[name] = &ps
	}
	out.Maps = map[string]*prog.ObjectMapSpec{}
	for name := range usedMaps {
		out.Maps[name] = cs.Maps[name]
	}
	return &out
}

// runCoverage is --cover: the Coverage the runs count into and the file
// it is written to.
type runCoverage struct {
	cov  *interp.Coverage
	path string
	name string
}

// newRunCoverage sets up --cover for p: opts.Coverage counts the runs of
// p's object. Programs without C line info (assembly, raw bytecode,
// objects built without -g) are an error.
func newRunCoverage(p *program, o *runOptions, opts *interp.Options) (*runCoverage, error) {
	if o.cover == "" {
		return nil, nil
	}
	if p.object == nil {
		return nil, fmt.Errorf("--cover: %s has no C source lines; coverage needs a clang-built object (clang -g) as OBJ.o:PROG", p.spec.Name)
	}
	if len(p.object.Programs[p.name].LineInfos()) == 0 {
		return nil, fmt.Errorf("--cover: program %s has no line info (.BTF.ext line_info): build the object with clang -g", p.name)
	}
	rc := &runCoverage{cov: interp.NewCoverage(), path: o.cover, name: p.name}
	opts.Coverage = rc.cov
	return rc, nil
}

// write writes the tracefile; a nil rc (no --cover) writes nothing.
func (rc *runCoverage) write() error {
	if rc == nil {
		return nil
	}
	f, err := os.Create(rc.path)
	if err != nil {
		return fmt.Errorf("--cover: %w", err)
	}
	err = rc.cov.WriteLCOV(f, &interp.LCOVOptions{TestName: rc.name})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("--cover: %w", err)
	}
	return nil
}

// sourceLines gives --trace the C source line of each traced
// instruction of an object's programs. The tracer sees slots, not
// programs, so it follows tail calls itself: a run that continues at
// slot 0 right after a tail_call instruction has entered the program
// that the call's index (r3) selects in the program arrays.
type sourceLines struct {
	progs    map[string]*progLines
	byVM     map[any]string // a loaded program -> its name
	arrays   []*maps.ProgArray
	cur      *progLines
	tailIdx  uint32 // r3 of the tail_call about to run
	tailNext bool   // the previous instruction was a tail_call
	last     string // the last source line printed
	pending  string // the source line of the instruction being traced
}

// progLines is one program's instructions by slot and their lines.
type progLines struct {
	insns  insn.Instructions
	slots  []int // slot -> instruction index, -1 inside an lddw
	lines  []prog.LineInfo
	starts []int // where functions start (func_info)
}

// newSourceLines returns the source lines of p's object's programs as
// lv loaded them, or nil when p is not an object's program or has no line
// info.
func newSourceLines(p *program, lv *userspaceVM) *sourceLines {
	if p.object == nil || len(p.object.Programs[p.name].LineInfos()) == 0 {
		return nil
	}
	s := &sourceLines{progs: map[string]*progLines{}, byVM: map[any]string{}}
	for name, vm := range lv.programs {
		ps := p.object.Programs[name]
		if ps == nil {
			continue
		}
		is := resolved(vm)
		if is == nil {
			continue
		}
		pl := &progLines{insns: is, lines: slices.Clone(ps.LineInfos())}
		slices.SortStableFunc(pl.lines, func(a, b prog.LineInfo) int { return cmp.Compare(a.Instruction, b.Instruction) })
		for _, f := range ps.FuncInfos() {
			pl.starts = append(pl.starts, f.Instruction)
		}
		for k, i := range is {
			pl.slots = append(pl.slots, k)
			if i.IsLoadImm64() {
				pl.slots = append(pl.slots, -1)
			}
		}
		s.progs[name] = pl
		s.byVM[vm] = name
	}
	for _, m := range lv.maps {
		if pa, ok := m.(*maps.ProgArray); ok {
			s.arrays = append(s.arrays, pa)
		}
	}
	s.cur = s.progs[p.name]
	return s
}

// resolved returns the instructions a loaded program runs (jump and
// call offsets resolved), as the tracer sees them.
func resolved(vm any) insn.Instructions {
	switch vm := vm.(type) {
	case *interp.VM:
		return vm.Instructions()
	case *jit.VM:
		return vm.Interp().Instructions()
	}
	return nil
}

// step is told every traced instruction before it runs: it follows tail
// calls and notes the instruction's source line for print.
func (s *sourceLines) step(pc int, ins insn.Instruction, regs *[11]uint64) {
	if s.tailNext && pc == 0 {
		s.cur = s.tailTarget(ins)
	}
	s.tailNext = ins.IsHelperCall() && ins.Imm == int64(insn.FnTailCall)
	s.tailIdx = uint32(regs[3])
	s.pending = ""
	if s.cur == nil || pc >= len(s.cur.slots) || s.cur.slots[pc] < 0 {
		return
	}
	k := s.cur.slots[pc]
	if i := s.cur.insns[k]; i.OpCode != ins.OpCode || i.Imm != ins.Imm || i.Offset != ins.Offset {
		return // not the program we think runs: print no line rather than a wrong one
	}
	if l, ok := s.cur.line(k); ok {
		s.pending = fmt.Sprintf("; %s\t[%s:%d]", strings.TrimSpace(l.Line), l.File, l.LineNum)
	}
}

// line returns the line_info record covering instruction k: the last one
// at or before it in its function.
func (pl *progLines) line(k int) (prog.LineInfo, bool) {
	i, found := slices.BinarySearchFunc(pl.lines, k, func(l prog.LineInfo, t int) int { return cmp.Compare(l.Instruction, t) })
	if !found {
		if i == 0 {
			return prog.LineInfo{}, false
		}
		i--
	}
	for _, f := range pl.starts {
		if f > pl.lines[i].Instruction && f <= k {
			return prog.LineInfo{}, false // k's function has no record before it
		}
	}
	return pl.lines[i], true
}

// tailTarget returns the program a tail call with index s.tailIdx
// entered, whose first instruction is ins: the one program the program
// arrays hold at that index, or nil when it cannot be told.
func (s *sourceLines) tailTarget(ins insn.Instruction) *progLines {
	var found *progLines
	for _, pa := range s.arrays {
		name, ok := s.byVM[pa.Program(s.tailIdx)]
		if !ok {
			continue
		}
		pl := s.progs[name]
		if i := pl.insns[0]; i.OpCode != ins.OpCode || i.Imm != ins.Imm || i.Offset != ins.Offset {
			continue
		}
		if found != nil && found != pl {
			return nil
		}
		found = pl
	}
	return found
}

// print writes the pending source line before its instruction, once
// for each run of instructions from the same line.
func (s *sourceLines) print(w io.Writer) {
	if s.pending != "" && s.pending != s.last {
		fmt.Fprintln(w, s.pending)
	}
	s.last = s.pending
}
