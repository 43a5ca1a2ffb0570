package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/purebpf/purebpf/prog"
)

// isObject reports whether a run argument names a program of an object:
// "OBJ.o:PROG" (the part before the last colon is a file), or a file
// ending in ".o".
func isObject(arg string) bool {
	if _, err := os.Stat(arg); err == nil {
		return strings.HasSuffix(arg, ".o")
	}
	i := strings.LastIndexByte(arg, ':')
	if i < 0 {
		return false
	}
	_, err := os.Stat(arg[:i])
	return err == nil
}

// loadObject loads one program of an object: OBJ.o:PROG, or OBJ.o when
// the object holds exactly one program.
func loadObject(arg, typ string) (*program, error) {
	path, name := arg, ""
	if _, err := os.Stat(arg); err != nil {
		i := strings.LastIndexByte(arg, ':')
		path, name = arg[:i], arg[i+1:]
	}
	cs, err := prog.LoadCollectionSpec(path)
	if err != nil {
		return nil, err
	}
	names := cs.ProgramNames()
	if name == "" {
		if len(names) != 1 {
			return nil, fmt.Errorf("%w: %s holds %d programs (%s); name one as %s:PROG", errUsage, path, len(names), strings.Join(names, ", "), path)
		}
		name = names[0]
	}
	ps := cs.Programs[name]
	if ps == nil {
		return nil, fmt.Errorf("%s: no program %q (the object has %s)", path, name, strings.Join(names, ", "))
	}
	if _, ok := prog.ParseSectionName(ps.SectionName); !ok && ps.Type == prog.UnspecifiedProgram && typ == "" {
		return nil, fmt.Errorf("%w: %s: section %q of program %s does not say the program type; set it with --type", errUsage, path, ps.SectionName, name)
	}
	ps.Autoload = true
	spec := ps.Spec
	p := &program{spec: &spec, data: map[string][]byte{}, object: cs, name: name}
	for _, ms := range spec.Maps {
		if om := cs.Maps[ms.Name]; om != nil && om.Data != nil {
			p.data[ms.Name] = om.Data
		}
	}
	return p, nil
}
