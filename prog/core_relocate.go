package prog

import (
	"fmt"

	"github.com/purebpf/purebpf/btf"
	"github.com/purebpf/purebpf/insn"
)

// CORERelocate returns a copy of the instructions of ps, a program of cs,
// with its CO-RE relocations applied against targets (empty: the running
// kernel's BTF and its modules'), cs's BTF being the local types, as
// NewCollection applies them before loading. Userspace engines use it to
// run a CO-RE program against the layout of a kernel the test chooses.
// Relocations that find no target poison their instruction (a call of
// helper btf.COREPoisonImm), as libbpf does; poisoned lists their
// reasons.
func (cs *CollectionSpec) CORERelocate(ps *ProgramSpec, targets []*btf.Spec) (out insn.Instructions, poisoned []string, err error) {
	insns := append(insn.Instructions(nil), ps.Instructions...)
	if len(ps.coreRelos) == 0 {
		return insns, nil, nil
	}
	if cs.btf == nil {
		return nil, nil, fmt.Errorf("program %q has CO-RE relocations but the object has no BTF", ps.Name)
	}
	return relocateCORE(ps, cs.btf.spec, insns, targets)
}

// relocateCORE applies the CO-RE relocations of ps to insns (ps's
// instructions, possibly already changed in other ways) with local as the
// object's BTF.
func relocateCORE(ps *ProgramSpec, local *btf.Spec, insns insn.Instructions, targets []*btf.Spec) (insn.Instructions, []string, error) {
	offs := insns.SlotOffsets()
	relos := make([]btf.CORERelocation, len(ps.coreRelos))
	for k, r := range ps.coreRelos {
		relos[k] = r.relo
		relos[k].InsnOff = uint32(offs[r.insn] * insn.SlotSize)
	}
	out, results, err := btf.CORERelocate(insns, relos, local, &btf.COREOptions{Targets: targets})
	if err != nil {
		return nil, nil, fmt.Errorf("load program %q (section %q): CO-RE: %w", ps.Name, ps.SectionName, err)
	}
	var poisoned []string
	for _, r := range results {
		if r.Poisoned {
			poisoned = append(poisoned, fmt.Sprintf("instruction %d: %s", r.Index, r.Reason))
		}
	}
	return out, poisoned, nil
}
