package btf

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"

	"github.com/purebpf/purebpf/insn"
)

// COREPoisonImm is the immediate of the call that replaces an instruction
// whose relocation cannot be satisfied (libbpf's 0xbad2310, "bad relo").
// The verifier rejects it with "invalid func unknown#195896080" only if the
// instruction is reachable.
const COREPoisonImm = 0xbad2310

// ErrAmbiguous is wrapped by the error of a relocation whose candidate
// target types give different results.
var ErrAmbiguous = errors.New("relocation decision ambiguity")

// COREOptions controls CORERelocate.
type COREOptions struct {
	// Targets are the specs that candidate types are searched in, in
	// order. Empty means the running kernel's BTF and that of its loaded
	// modules, as libbpf does.
	Targets []*Spec
}

// COREResult is the outcome of one relocation: CORERelocate's results[i]
// is that of relos[i].
type COREResult struct {
	Index    int    // the instruction's index in the returned slice
	Local    uint64 // the value for the object's own types
	Target   uint64 // the value written into the instruction
	Poisoned bool   // the instruction was replaced by a poisoned call
	Reason   string // why it was poisoned
}

// CORERelocate rewrites insns, the instructions of one ELF section, for
// relos (whose InsnOff are byte offsets into that section and whose types
// are local's), as libbpf's bpf_core_apply_relo does. The returned slice
// has the same slots; it is insns itself unless a poisoned LD_IMM64 had
// to become two calls.
//
// Candidate target types have the local type's essential name (without
// its ___flavor suffix) and a compatible kind. A relocation whose target
// is missing yields 0 for the *_exists, type_matches, type_size and
// target_type_id kinds; for the others the instruction is poisoned, so
// that the verifier complains only if it is reachable, and the result's
// Reason names the relocation, the type and the access string. Candidates
// that disagree are an error wrapping ErrAmbiguous, as in libbpf.
func CORERelocate(insns insn.Instructions, relos []CORERelocation, local *Spec, opts *COREOptions) (insn.Instructions, []COREResult, error) {
	if len(relos) == 0 {
		return insns, nil, nil
	}
	var targets []*Spec
	if opts != nil {
		targets = opts.Targets
	}
	if len(targets) == 0 {
		var err error
		if targets, err = kernelTargets(); err != nil {
			return nil, nil, err
		}
	}
	r := &relocator{local: local, targets: targets, cands: map[Type][]candidate{}, relos: relos}
	r.localSpec.acc, r.targSpec.acc = r.localSpec.accBuf[:0], r.targSpec.accBuf[:0]
	results := make([]COREResult, 0, len(relos))
	var poisonLd []int
	// Relocations usually come in instruction order: find each one's
	// instruction by scanning on from the previous one.
	idx, slot := 0, uint32(0)
	for n, relo := range relos {
		want := relo.InsnOff / 8
		if want < slot {
			idx, slot = 0, 0
		}
		for idx < len(insns) && slot < want {
			slot += uint32(insns[idx].Slots())
			idx++
		}
		if slot != want || idx >= len(insns) || relo.InsnOff%8 != 0 {
			return nil, nil, r.errf(n, relo, "instruction offset %d is not the start of an instruction", relo.InsnOff)
		}
		res, err := r.result(n, relo, len(relos))
		if err != nil {
			return nil, nil, err
		}
		out := COREResult{Index: idx, Local: res.orig, Target: res.new}
		if !res.poison {
			poison, err := r.patch(n, relo, &insns[idx], &res)
			if err != nil {
				return nil, nil, err
			}
			res.poison = poison
		}
		if res.poison {
			out.Poisoned, out.Reason = true, r.reason(n, relo, res.why)
			if insns[idx].IsLoadImm64() {
				poisonLd = append(poisonLd, idx)
			} else {
				insns[idx] = poisonInsn(insns[idx])
			}
		}
		results = append(results, out)
	}
	if len(poisonLd) > 0 {
		out := make(insn.Instructions, 0, len(insns)+len(poisonLd))
		next := 0
		for i, in := range insns {
			if next < len(poisonLd) && poisonLd[next] == i {
				for next < len(poisonLd) && poisonLd[next] == i {
					next++
				}
				out = append(out, poisonInsn(in), poisonInsn(insn.Instruction{}))
				continue
			}
			out = append(out, in)
		}
		insns = out
		for i := range results {
			shift := 0
			for _, p := range poisonLd {
				if p < results[i].Index {
					shift++
				}
			}
			results[i].Index += shift
		}
	}
	return insns, results, nil
}

func poisonInsn(old insn.Instruction) insn.Instruction {
	return insn.Instruction{OpCode: insn.OpCode(insn.ClassJmp) | 0x80, Imm: COREPoisonImm, Label: old.Label}
}

var kernelTargetsCache struct {
	sync.Mutex
	targets []*Spec
}

// kernelTargets returns the kernel's spec and its modules', listed once
// per process (FlushKernelSpec forgets them).
func kernelTargets() ([]*Spec, error) {
	kernelTargetsCache.Lock()
	defer kernelTargetsCache.Unlock()
	if kernelTargetsCache.targets != nil {
		return kernelTargetsCache.targets, nil
	}
	k, err := KernelSpec()
	if err != nil {
		return nil, err
	}
	targets := []*Spec{k}
	mods, err := KernelModules()
	if err != nil {
		return nil, err
	}
	for _, m := range mods {
		s, err := ModuleSpec(m)
		if err != nil {
			return nil, err
		}
		targets = append(targets, s)
	}
	kernelTargetsCache.targets = targets
	return targets, nil
}

type relocator struct {
	local   *Spec
	targets []*Spec
	cands   map[Type][]candidate

	// Identical relocations give identical results: relos[seen[i]]
	// gave vals[i]; index finds them in long programs.
	relos []CORERelocation
	seen  []int32
	vals  []reloRes
	index map[reloKey]int

	localSpec, targSpec coreSpec // scratch, reused for every relocation
}

// result returns the outcome of relo, computing it only once for
// identical relocations.
func (r *relocator) result(n int, relo CORERelocation, total int) (reloRes, error) {
	key := reloKey{relo.Type, relo.Access, relo.Kind, relo.TypeID}
	const scan = 32
	if r.index != nil {
		if i, ok := r.index[key]; ok {
			return r.vals[i], nil
		}
	} else {
		for i, j := range r.seen {
			o := &r.relos[j]
			if o.Type == relo.Type && o.Kind == relo.Kind && o.TypeID == relo.TypeID && o.Access == relo.Access {
				return r.vals[i], nil
			}
		}
	}
	res, err := r.calc(n, relo)
	if err != nil {
		return res, err
	}
	if r.vals == nil {
		r.seen, r.vals = make([]int32, 0, min(total, scan)), make([]reloRes, 0, min(total, scan))
	}
	r.seen, r.vals = append(r.seen, int32(n)), append(r.vals, res)
	if r.index == nil && len(r.seen) > scan {
		r.index = make(map[reloKey]int, total)
		for i, j := range r.seen {
			o := &r.relos[j]
			r.index[reloKey{o.Type, o.Access, o.Kind, o.TypeID}] = i
		}
	} else if r.index != nil {
		r.index[key] = len(r.seen) - 1
	}
	return res, nil
}

type reloKey struct {
	typ    Type
	access string
	kind   COREKind
	id     TypeID
}

type candidate struct {
	spec *Spec
	id   TypeID
	typ  Type
}

func (r *relocator) errf(n int, relo CORERelocation, format string, args ...any) error {
	return fmt.Errorf("btf: CO-RE relocation #%d (%s) of [%d] %s, access %q: %w", n, relo.Kind, relo.TypeID, describe(relo.Type), relo.Access, fmt.Errorf(format, args...))
}

func (r *relocator) reason(n int, relo CORERelocation, why string) string {
	return fmt.Sprintf("CO-RE relocation #%d (%s) of [%d] %s, access %q: %s", n, relo.Kind, relo.TypeID, describe(relo.Type), relo.Access, why)
}

// accessor is one step of an access string: a named member (typ is the
// composite, idx the member), an array element (typ the element type), or
// the root (typ the root type, idx the pointer arithmetic index).
type accessor struct {
	typ  Type
	idx  int
	name string
}

type coreSpec struct {
	spec      *Spec
	root      Type
	rootID    TypeID
	acc       []accessor
	bitOffset uint64
	accBuf    [4]accessor
}

// reset empties a scratch spec for reuse.
func (cs *coreSpec) reset(s *Spec, root Type, id TypeID) *coreSpec {
	cs.spec, cs.root, cs.rootID, cs.bitOffset, cs.acc = s, root, id, 0, cs.acc[:0]
	return cs
}

const maxSpecLen = 64

func (r *relocator) parseLocal(relo CORERelocation) (*coreSpec, error) {
	var buf [maxSpecLen]int
	idxs := buf[:0]
	for part := range strings.SplitSeq(relo.Access, ":") {
		if len(idxs) == maxSpecLen {
			return nil, fmt.Errorf("access string has more than %d parts", maxSpecLen)
		}
		v, err := strconv.ParseUint(part, 10, 31)
		if err != nil {
			return nil, fmt.Errorf("invalid access string")
		}
		idxs = append(idxs, int(v))
	}
	cs := r.localSpec.reset(r.local, relo.Type, relo.TypeID)
	if relo.Type == nil {
		return nil, fmt.Errorf("no local type")
	}
	t := skipModsAndTypedefs(relo.Type)
	switch {
	case relo.Kind.typeBased():
		if len(idxs) != 1 || idxs[0] != 0 {
			return nil, fmt.Errorf("type relocation with access other than \"0\"")
		}
		return cs, nil
	case relo.Kind.enumBased():
		e, ok := t.(*Enum)
		if !ok || len(idxs) != 1 || idxs[0] >= len(e.Values) {
			return nil, fmt.Errorf("enum relocation on %s with access out of range", describe(t))
		}
		cs.acc = append(cs.acc, accessor{typ: e, idx: idxs[0], name: e.Values[idxs[0]].Name})
		return cs, nil
	case !relo.Kind.fieldBased():
		return nil, fmt.Errorf("unknown relocation kind")
	}
	sz, err := Sizeof(t)
	if err != nil {
		return nil, err
	}
	cs.acc = append(cs.acc, accessor{typ: t, idx: idxs[0]})
	cs.bitOffset = uint64(idxs[0]) * uint64(sz) * 8
	cur := t
	for i := 1; i < len(idxs); i++ {
		cur = skipModsAndTypedefs(cur)
		idx := idxs[i]
		switch v := cur.(type) {
		case *Struct, *Union:
			ms := Members(v)
			if idx >= len(ms) {
				return nil, fmt.Errorf("member index %d of %s out of range", idx, describe(v))
			}
			cs.bitOffset += uint64(ms[idx].Offset)
			if ms[idx].Name != "" {
				cs.acc = append(cs.acc, accessor{typ: v, idx: idx, name: ms[idx].Name})
			}
			cur = ms[idx].Type
		case *Array:
			elem := skipModsAndTypedefs(v.Type)
			if !isFlexArray(cs.acc[len(cs.acc)-1], v) && idx >= int(v.Nelems) {
				return nil, fmt.Errorf("array index %d out of range (%d elements)", idx, v.Nelems)
			}
			esz, err := Sizeof(elem)
			if err != nil {
				return nil, err
			}
			cs.acc = append(cs.acc, accessor{typ: elem, idx: idx})
			cs.bitOffset += uint64(idx) * uint64(esz) * 8
			cur = elem
		default:
			return nil, fmt.Errorf("access %d reaches %s, not a struct, union or array", i, describe(cur))
		}
	}
	return cs, nil
}

// isFlexArray reports whether a is a zero-length array that is the last
// member of the composite the previous accessor named.
func isFlexArray(prev accessor, a *Array) bool {
	if a.Nelems != 0 || prev.name == "" {
		return false
	}
	ms := Members(prev.typ)
	return prev.idx == len(ms)-1
}

// candidates returns the target types whose essential name and kind match
// the local type's.
func (r *relocator) candidates(local Type) ([]candidate, error) {
	if c, ok := r.cands[local]; ok {
		return c, nil
	}
	name := essentialName(local.TypeName())
	if name == "" {
		return nil, fmt.Errorf("relocations against anonymous types are not supported")
	}
	lk := coreKind(local.Kind())
	var cands []candidate
	var err error
	for _, ts := range r.targets {
		ts.ownMatches(name, func(id TypeID) bool {
			if coreKind(ts.kindAt(id)) != lk {
				return true
			}
			t, e := ts.TypeByID(id)
			if e != nil {
				err = e
				return false
			}
			cands = append(cands, candidate{spec: ts, id: id, typ: t})
			return true
		})
		if err != nil {
			return nil, err
		}
	}
	r.cands[local] = cands
	return cands, nil
}

// coreKind folds ENUM64 into ENUM, which CO-RE treats alike.
func coreKind(k Kind) Kind {
	if k == KindEnum64 {
		return KindEnum
	}
	return k
}

// relo is the computed outcome of a relocation.
type reloRes struct {
	orig, new         uint64
	origSize, newSize uint32
	validate          bool
	poison            bool
	why               string
	failMemsz         bool
}

func (r *relocator) calc(n int, relo CORERelocation) (reloRes, error) {
	local, err := r.parseLocal(relo)
	if err != nil {
		return reloRes{}, r.errf(n, relo, "%v", err)
	}
	res := reloRes{validate: true}
	if relo.Kind == TypeIDLocal {
		res.orig, res.new = uint64(relo.TypeID), uint64(relo.TypeID)
		return res, nil
	}
	cands, err := r.candidates(relo.Type)
	if err != nil {
		return reloRes{}, r.errf(n, relo, "%v", err)
	}
	var (
		found   bool
		first   reloRes
		firstID TypeID
	)
	for _, c := range cands {
		targ, ok, err := r.match(relo.Kind, local, c)
		if err != nil {
			return reloRes{}, r.errf(n, relo, "candidate [%d] %s: %v", c.id, describe(c.typ), err)
		}
		if !ok {
			continue
		}
		res, err := calcRelo(relo, local, targ, c)
		if err != nil {
			return reloRes{}, r.errf(n, relo, "candidate [%d] %s: %v", c.id, describe(c.typ), err)
		}
		if !found {
			found, first, firstID = true, res, c.id
			continue
		}
		if res.poison != first.poison || res.new != first.new {
			return reloRes{}, r.errf(n, relo, "%w: candidate [%d] gives %d, candidate [%d] gives %d", ErrAmbiguous, firstID, first.new, c.id, res.new)
		}
	}
	if found {
		return first, nil
	}
	res, err = calcRelo(relo, local, nil, candidate{})
	if err != nil {
		return reloRes{}, r.errf(n, relo, "%v", err)
	}
	if res.poison && res.why == "" {
		res.why = fmt.Sprintf("no target type matches (%d candidates named %q)", len(cands), essentialName(relo.Type.TypeName()))
	}
	return res, nil
}

// match checks a candidate against the local spec and returns the target
// spec.
func (r *relocator) match(kind COREKind, local *coreSpec, c candidate) (*coreSpec, bool, error) {
	targ := r.targSpec.reset(c.spec, c.typ, c.id)
	if kind.typeBased() {
		var ok bool
		var err error
		if kind == TypeMatches {
			ok, err = typesMatch(local.root, c.typ, false, maxResolveDepth)
		} else {
			ok, err = typesCompat(local.root, c.typ, maxResolveDepth)
		}
		if err != nil || !ok {
			return nil, false, err
		}
		return targ, true, nil
	}
	first := local.acc[0]
	if e, ok := first.typ.(*Enum); ok && first.name != "" {
		te, ok := skipModsAndTypedefs(c.typ).(*Enum)
		if !ok {
			return nil, false, nil
		}
		want := essentialName(e.Values[first.idx].Name)
		for i, v := range te.Values {
			if essentialName(v.Name) == want {
				targ.acc = append(targ.acc, accessor{typ: te, idx: i, name: v.Name})
				return targ, true, nil
			}
		}
		return nil, false, nil
	}
	targID := c.typ
	for i, la := range local.acc {
		tt := skipModsAndTypedefs(targID)
		if la.name != "" {
			next, ok, err := matchMember(la, tt, targ, maxResolveDepth)
			if err != nil || !ok {
				return nil, ok, err
			}
			targID = next
			continue
		}
		if i > 0 {
			a, ok := tt.(*Array)
			if !ok {
				return nil, false, nil
			}
			if !isFlexArray(targ.acc[len(targ.acc)-1], a) && la.idx >= int(a.Nelems) {
				return nil, false, nil
			}
			tt = skipModsAndTypedefs(a.Type)
		}
		if len(targ.acc) == maxSpecLen {
			return nil, false, fmt.Errorf("access too deep")
		}
		targ.acc = append(targ.acc, accessor{typ: tt, idx: la.idx})
		sz, err := Sizeof(tt)
		if err != nil {
			return nil, false, err
		}
		targ.bitOffset += uint64(la.idx) * uint64(sz) * 8
		targID = tt
	}
	return targ, true, nil
}

// matchMember finds the local accessor's member by name in the target
// composite t, descending into anonymous members, and checks that the two
// fields are compatible.
func matchMember(la accessor, t Type, targ *coreSpec, depth int) (Type, bool, error) {
	if depth < 0 {
		return nil, false, fmt.Errorf("anonymous members nested too deep")
	}
	ms := Members(t)
	if ms == nil {
		return nil, false, nil
	}
	lm := Members(la.typ)[la.idx]
	for i, m := range ms {
		targ.bitOffset += uint64(m.Offset)
		if m.Name == "" {
			next, ok, err := matchMember(la, skipModsAndTypedefs(m.Type), targ, depth-1)
			if err != nil || ok {
				return next, ok, err
			}
		} else if m.Name == lm.Name {
			ok, err := fieldsCompat(lm.Type, m.Type, maxResolveDepth)
			if err != nil || !ok {
				targ.bitOffset -= uint64(m.Offset)
				return nil, false, err
			}
			targ.acc = append(targ.acc, accessor{typ: t, idx: i, name: m.Name})
			return m.Type, true, nil
		}
		targ.bitOffset -= uint64(m.Offset)
	}
	return nil, false, nil
}

// fieldsCompat is libbpf's bpf_core_fields_are_compat.
func fieldsCompat(local, targ Type, depth int) (bool, error) {
	if depth < 0 {
		return false, ErrLoop
	}
	l, t := skipModsAndTypedefs(local), skipModsAndTypedefs(targ)
	if isComposite(l) && isComposite(t) {
		return true, nil
	}
	if coreKind(l.Kind()) != coreKind(t.Kind()) {
		return false, nil
	}
	switch l := l.(type) {
	case *Pointer, *Float:
		return true, nil
	case *Fwd, *Enum:
		return essentialName(l.TypeName()) == essentialName(t.TypeName()), nil
	case *Int:
		return l.Offset == 0 && t.(*Int).Offset == 0, nil
	case *Array:
		return fieldsCompat(l.Type, t.(*Array).Type, depth-1)
	}
	return false, fmt.Errorf("unexpected field kind %s", l.Kind())
}

func isComposite(t Type) bool {
	switch t.(type) {
	case *Struct, *Union:
		return true
	}
	return false
}

// typesCompat is libbpf's bpf_core_types_are_compat.
func typesCompat(local, targ Type, depth int) (bool, error) {
	if depth < 0 {
		return false, ErrLoop
	}
	l, t := skipModsAndTypedefs(local), skipModsAndTypedefs(targ)
	if coreKind(l.Kind()) != coreKind(t.Kind()) {
		return false, nil
	}
	switch l := l.(type) {
	case *Void, *Struct, *Union, *Enum, *Fwd:
		return true, nil
	case *Int:
		return l.Offset == 0 && t.(*Int).Offset == 0, nil
	case *Pointer:
		return typesCompat(l.Target, t.(*Pointer).Target, depth-1)
	case *Array:
		return typesCompat(l.Type, t.(*Array).Type, depth-1)
	case *FuncProto:
		tp := t.(*FuncProto)
		if len(l.Params) != len(tp.Params) {
			return false, nil
		}
		for i := range l.Params {
			ok, err := typesCompat(l.Params[i].Type, tp.Params[i].Type, depth-1)
			if err != nil || !ok {
				return false, err
			}
		}
		return typesCompat(l.Return, tp.Return, depth-1)
	}
	return false, nil
}

func namesMatch(a, b string) bool { return essentialName(a) == essentialName(b) }

// typesMatch is libbpf's bpf_core_types_match (Linux 6.2): a deeper check
// than typesCompat, for bpf_core_type_matches.
func typesMatch(local, targ Type, behindPtr bool, depth int) (bool, error) {
	if depth < 0 {
		return false, ErrLoop
	}
	l, t := skipModsAndTypedefs(local), skipModsAndTypedefs(targ)
	if !namesMatch(l.TypeName(), t.TypeName()) {
		return false, nil
	}
	switch l := l.(type) {
	case *Void:
		_, ok := t.(*Void)
		return ok, nil
	case *Fwd:
		if behindPtr {
			switch t := t.(type) {
			case *Fwd:
				return l.Union == t.Union, nil
			case *Struct:
				return !l.Union, nil
			case *Union:
				return l.Union, nil
			}
			return false, nil
		}
		tf, ok := t.(*Fwd)
		return ok && l.Union == tf.Union, nil
	case *Enum:
		te, ok := t.(*Enum)
		if !ok || l.Size != te.Size || len(l.Values) > len(te.Values) {
			return false, nil
		}
		for _, lv := range l.Values {
			found := false
			for _, tv := range te.Values {
				if namesMatch(lv.Name, tv.Name) {
					found = true
					break
				}
			}
			if !found {
				return false, nil
			}
		}
		return true, nil
	case *Struct, *Union:
		if behindPtr {
			if l.Kind() == t.Kind() {
				return true, nil
			}
			tf, ok := t.(*Fwd)
			return ok && tf.Union == (l.Kind() == KindUnion), nil
		}
		if l.Kind() != t.Kind() {
			return false, nil
		}
		lms, tms := Members(l), Members(t)
		if len(lms) > len(tms) {
			return false, nil
		}
		for _, lm := range lms {
			matched := false
			for _, tm := range tms {
				if !namesMatch(lm.Name, tm.Name) {
					continue
				}
				ok, err := typesMatch(lm.Type, tm.Type, behindPtr, depth-1)
				if err != nil {
					return false, err
				}
				if ok {
					matched = true
					break
				}
			}
			if !matched {
				return false, nil
			}
		}
		return true, nil
	case *Int:
		ti, ok := t.(*Int)
		return ok && l.Size == ti.Size && l.Encoding&Signed == ti.Encoding&Signed, nil
	case *Pointer:
		tp, ok := t.(*Pointer)
		if !ok {
			return false, nil
		}
		return typesMatch(l.Target, tp.Target, true, depth-1)
	case *Array:
		ta, ok := t.(*Array)
		if !ok || l.Nelems != ta.Nelems {
			return false, nil
		}
		return typesMatch(l.Type, ta.Type, behindPtr, depth-1)
	case *FuncProto:
		tp, ok := t.(*FuncProto)
		if !ok || len(l.Params) != len(tp.Params) {
			return false, nil
		}
		for i := range l.Params {
			ok, err := typesMatch(l.Params[i].Type, tp.Params[i].Type, behindPtr, depth-1)
			if err != nil || !ok {
				return false, err
			}
		}
		return typesMatch(l.Return, tp.Return, behindPtr, depth-1)
	}
	return false, nil
}

// calcRelo computes the local value and the target value (targ nil: no
// target found).
func calcRelo(relo CORERelocation, local, targ *coreSpec, c candidate) (reloRes, error) {
	res := reloRes{validate: true}
	var origType, newType Type
	var err error
	switch {
	case relo.Kind.fieldBased():
		var lv fieldVal
		lv, err = calcField(relo.Kind, local)
		if err != nil {
			return res, err
		}
		res.orig, res.origSize, res.validate = lv.val, lv.size, lv.validate
		origType = lv.typ
		if targ == nil {
			if relo.Kind == FieldExists {
				res.new = 0
			} else {
				res.poison = true
			}
			break
		}
		tv, err := calcField(relo.Kind, targ)
		if err != nil {
			return res, err
		}
		res.new, res.newSize = tv.val, tv.size
		newType = tv.typ
	case relo.Kind.typeBased():
		res.orig = calcTypeLocal(relo)
		if targ == nil {
			res.new = 0
			break
		}
		switch relo.Kind {
		case TypeIDTarget:
			res.new = uint64(c.id)
		case TypeExists, TypeMatches:
			res.new = 1
		case TypeSize:
			sz, err := Sizeof(c.typ)
			if err != nil {
				return res, err
			}
			res.new = uint64(sz)
		}
	case relo.Kind.enumBased():
		res.orig = enumVal(relo.Kind, local)
		if targ == nil {
			if relo.Kind == EnumValueExists {
				res.new = 0
			} else {
				res.poison = true
			}
			break
		}
		res.new = enumVal(relo.Kind, targ)
	}
	if res.poison || targ == nil {
		return res, nil
	}
	if relo.Kind == FieldByteOffset && res.origSize != res.newSize {
		lo, to := skipModsAndTypedefs(origType), skipModsAndTypedefs(newType)
		_, lp := lo.(*Pointer)
		_, tp := to.(*Pointer)
		li, lok := lo.(*Int)
		ti, tok := to.(*Int)
		if !(lp && tp) && !(lok && tok && li.Encoding&Signed == 0 && ti.Encoding&Signed == 0) {
			res.failMemsz = true
		}
	}
	return res, nil
}

func calcTypeLocal(relo CORERelocation) uint64 {
	switch relo.Kind {
	case TypeIDTarget:
		return uint64(relo.TypeID)
	case TypeSize:
		sz, _ := Sizeof(relo.Type)
		return uint64(sz)
	}
	return 1
}

func enumVal(kind COREKind, s *coreSpec) uint64 {
	if kind == EnumValueExists {
		return 1
	}
	a := s.acc[0]
	e := a.typ.(*Enum)
	v := e.Values[a.idx].Value
	if !e.Is64 {
		v = uint64(int64(int32(uint32(v))))
	}
	return v
}

type fieldVal struct {
	val      uint64
	size     uint32
	typ      Type
	validate bool
}

// calcField computes a field relocation's value for one side, as
// libbpf's bpf_core_calc_field_relo.
func calcField(kind COREKind, s *coreSpec) (fieldVal, error) {
	if kind == FieldExists {
		return fieldVal{val: 1, validate: true}, nil
	}
	acc := s.acc[len(s.acc)-1]
	if acc.name == "" {
		sz, err := Sizeof(acc.typ)
		if err != nil {
			return fieldVal{}, err
		}
		switch kind {
		case FieldByteOffset:
			return fieldVal{val: s.bitOffset / 8, size: uint32(sz), typ: acc.typ, validate: true}, nil
		case FieldByteSize:
			return fieldVal{val: uint64(sz), validate: true}, nil
		}
		return fieldVal{}, fmt.Errorf("%s relocation cannot be applied to an array element or the root type", kind)
	}
	m := Members(acc.typ)[acc.idx]
	mt := skipModsAndTypedefs(m.Type)
	bitOff := s.bitOffset
	bitSz := uint64(m.BitfieldSize)
	bitfield := bitSz > 0
	var byteSz, byteOff uint64
	if bitfield {
		var size uint32
		switch v := mt.(type) {
		case *Int:
			size = v.Size
		case *Enum:
			size = v.Size
		default:
			return fieldVal{}, fmt.Errorf("bitfield member %q of %s has type %s", m.Name, describe(acc.typ), describe(mt))
		}
		if size == 0 {
			return fieldVal{}, fmt.Errorf("bitfield member %q has size 0", m.Name)
		}
		byteSz = uint64(size)
		byteOff = bitOff / 8 / byteSz * byteSz
		for bitOff+bitSz-byteOff*8 > byteSz*8 {
			if byteSz >= 8 {
				return fieldVal{}, fmt.Errorf("bitfield %q cannot be read with a 64-bit load", m.Name)
			}
			byteSz *= 2
			byteOff = bitOff / 8 / byteSz * byteSz
		}
	} else {
		sz, err := Sizeof(m.Type)
		if err != nil {
			return fieldVal{}, err
		}
		byteSz = uint64(sz)
		byteOff = bitOff / 8
		bitSz = byteSz * 8
	}
	fv := fieldVal{validate: !bitfield}
	switch kind {
	case FieldByteOffset:
		fv.val = byteOff
		if !bitfield {
			fv.size, fv.typ = uint32(byteSz), m.Type
		}
	case FieldByteSize:
		fv.val = byteSz
	case FieldSigned:
		switch v := mt.(type) {
		case *Enum:
			fv.val = b2u(v.Signed)
		case *Int:
			fv.val = b2u(v.Encoding&Signed != 0)
		}
		fv.validate = true
	case FieldLShiftU64:
		fv.val = 64 - (bitOff + bitSz - byteOff*8)
	case FieldRShiftU64:
		fv.val = 64 - bitSz
		fv.validate = true
	}
	return fv, nil
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// patch writes res into the instruction, as libbpf's bpf_core_patch_insn.
// It returns true if the instruction must be poisoned instead.
func (r *relocator) patch(n int, relo CORERelocation, in *insn.Instruction, res *reloRes) (bool, error) {
	class := in.OpCode.Class()
	switch {
	case in.IsLoadImm64():
		if res.validate && uint64(in.Imm) != res.orig {
			return false, r.errf(n, relo, "LD_IMM64 has value %d, expected %d", in.Imm, res.orig)
		}
		in.Imm = int64(res.new)
	case class == insn.ClassALU || class == insn.ClassALU64:
		if insn.Source(in.OpCode&0x08) != insn.SourceK {
			return false, r.errf(n, relo, "ALU instruction does not take an immediate")
		}
		if res.validate && uint32(in.Imm) != uint32(res.orig) {
			return false, r.errf(n, relo, "instruction has immediate %d, expected %d", in.Imm, res.orig)
		}
		in.Imm = int64(int32(uint32(res.new)))
	case class == insn.ClassLdX || class == insn.ClassSt || class == insn.ClassStX:
		if res.validate && uint64(uint16(in.Offset)) != res.orig {
			return false, r.errf(n, relo, "memory access has offset %d, expected %d", in.Offset, res.orig)
		}
		if res.new > math.MaxInt16 {
			return false, r.errf(n, relo, "offset %d does not fit a memory access", res.new)
		}
		if res.origSize != res.newSize && relo.Kind == FieldByteOffset {
			if res.failMemsz {
				res.why = fmt.Sprintf("field size changes from %d to %d bytes and cannot be loaded with another size", res.origSize, res.newSize)
				return true, nil
			}
			size := insn.Size(in.OpCode & 0x18)
			if size.Bytes() != int(res.origSize) {
				return false, r.errf(n, relo, "memory access of %d bytes for a %d-byte field", size.Bytes(), res.origSize)
			}
			var ns insn.Size
			switch res.newSize {
			case 1:
				ns = insn.B
			case 2:
				ns = insn.H
			case 4:
				ns = insn.W
			case 8:
				ns = insn.DW
			default:
				res.why = fmt.Sprintf("target field size %d cannot be loaded", res.newSize)
				return true, nil
			}
			in.OpCode = in.OpCode&^0x18 | insn.OpCode(ns)
		}
		in.Offset = int16(res.new)
	default:
		return false, r.errf(n, relo, "instruction %v cannot be relocated", in.OpCode)
	}
	return false, nil
}
