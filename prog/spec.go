package prog

import (
	"errors"
	"fmt"

	"github.com/purebpf/purebpf/insn"
)

// ErrInvalidSpec is wrapped by errors about a malformed Spec or MapSpec.
var ErrInvalidSpec = errors.New("invalid spec")

// Spec says what a program is: enough to load it into the kernel or to run
// it in interp or jit.
type Spec struct {
	// Name is the program's name, truncated to 15 bytes for the kernel.
	Name string
	// Type is the program type, such as SocketFilter or Kprobe.
	Type Type
	// License is the program's license; GPL-only helpers need "GPL".
	License string
	// Instructions is the program. LD_IMM64 map loads (insn.LoadMapPtr,
	// insn.LoadMapValue) refer to maps by name through Instruction.Ref.
	Instructions insn.Instructions
	// Maps are the maps the program refers to by name.
	Maps []*MapSpec
}

// MapSpec says what a map is.
type MapSpec struct {
	// Name is the map's name, as referenced by LD_IMM64 map loads.
	Name       string
	Type       MapType
	KeySize    uint32
	ValueSize  uint32
	MaxEntries uint32
	// Flags are the map_flags of BPF_MAP_CREATE, such as BPF_F_NO_PREALLOC.
	Flags uint32
}

// Map returns the map spec called name, or nil.
func (s *Spec) Map(name string) *MapSpec {
	for _, m := range s.Maps {
		if m.Name == name {
			return m
		}
	}
	return nil
}

// Validate checks the spec without a kernel: the instructions are valid,
// every map they refer to has a MapSpec, and map names are unique.
func (s *Spec) Validate() error {
	if err := s.validateMaps(); err != nil {
		return err
	}
	if err := s.Instructions.Validate(); err != nil {
		return fmt.Errorf("program %q: %w", s.Name, err)
	}
	return nil
}

// validateMaps is Validate without the instruction check, for callers
// that validate the instructions anyway (insn.Instructions.Marshal does).
func (s *Spec) validateMaps() error {
	if s == nil {
		return fmt.Errorf("%w: nil spec", ErrInvalidSpec)
	}
	if len(s.Instructions) == 0 {
		return fmt.Errorf("%w: program %q has no instructions", ErrInvalidSpec, s.Name)
	}
	seen := make(map[string]bool, len(s.Maps))
	for _, m := range s.Maps {
		if m == nil {
			return fmt.Errorf("%w: program %q: nil map spec", ErrInvalidSpec, s.Name)
		}
		if seen[m.Name] {
			return fmt.Errorf("%w: program %q: two maps named %q", ErrInvalidSpec, s.Name, m.Name)
		}
		seen[m.Name] = true
	}
	slot := 0
	for _, i := range s.Instructions {
		if i.IsMapReference() && i.Ref != "" && !seen[i.Ref] {
			return fmt.Errorf("%w: program %q: slot %d refers to map %q, which is not in Maps", ErrInvalidSpec, s.Name, slot, i.Ref)
		}
		slot += i.Slots()
	}
	return nil
}
