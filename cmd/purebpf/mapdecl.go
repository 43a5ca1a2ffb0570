package main

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/purebpf/purebpf/prog"
)

// Map declarations for assembly programs.
//
// A whole-line comment whose first word is "map" declares a map:
//
//	; map NAME TYPE key=KEYSIZE value=VALUESIZE entries=MAXENTRIES [flags=FLAGS]
//
// ("#" and "//" comments work too). TYPE is a map type as bpftool names
// it: hash, array, percpu_hash, percpu_array, lru_hash, lru_percpu_hash,
// queue, stack, ringbuf, perf_event_array, ... The numbers are decimal or
// 0x-prefixed hexadecimal. The flag --map NAME:TYPE:KEY:VALUE:ENTRIES
// declares one the same way and replaces a declaration of the same name
// in the file.

// mapDecl is one declared map and where it was declared ("line 3",
// "--map").
type mapDecl struct {
	spec  prog.MapSpec
	where string
}

// mapTypes is every map type prog names, by its bpftool name.
var mapTypes = func() map[string]prog.MapType {
	m := map[string]prog.MapType{}
	for t := prog.MapType(1); t < 64; t++ {
		if name := t.String(); !strings.HasPrefix(name, "bpf_map_type(") {
			m[name] = t
		}
	}
	return m
}()

func parseMapType(name string) (prog.MapType, error) {
	if t, ok := mapTypes[name]; ok {
		return t, nil
	}
	return 0, fmt.Errorf("unknown map type %q (want a bpftool name such as hash, array, percpu_array, lru_hash, queue, ringbuf)", name)
}

func parseSize(what, s string) (uint32, error) {
	n, err := strconv.ParseUint(s, 0, 32)
	if err != nil {
		return 0, fmt.Errorf("%s %q is not a 32-bit number", what, s)
	}
	return uint32(n), nil
}

// directiveBody returns the text of a whole-line comment that starts with
// the word "map", and whether the line is one.
func directiveBody(line string) (string, bool) {
	line = strings.TrimSpace(line)
	for _, marker := range []string{";", "#", "//"} {
		if rest, ok := strings.CutPrefix(line, marker); ok {
			rest = strings.TrimSpace(rest)
			if f := strings.Fields(rest); len(f) > 0 && f[0] == "map" {
				return rest, true
			}
			return "", false
		}
	}
	return "", false
}

// parseMapDirectives returns the maps src declares, in file order.
func parseMapDirectives(src string) ([]mapDecl, error) {
	var decls []mapDecl
	seen := map[string]int{}
	for k, line := range strings.Split(src, "\n") {
		body, ok := directiveBody(line)
		if !ok {
			continue
		}
		spec, err := parseDirective(strings.Fields(body)[1:])
		if err != nil {
			return nil, fmt.Errorf("line %d: map declaration: %w", k+1, err)
		}
		if prev, dup := seen[spec.Name]; dup {
			return nil, fmt.Errorf("line %d: map %q is already declared on line %d", k+1, spec.Name, prev)
		}
		seen[spec.Name] = k + 1
		decls = append(decls, mapDecl{spec: spec, where: fmt.Sprintf("line %d", k+1)})
	}
	return decls, nil
}

func parseDirective(f []string) (prog.MapSpec, error) {
	const form = "want \"map NAME TYPE key=N value=N entries=N [flags=N]\""
	if len(f) < 2 {
		return prog.MapSpec{}, fmt.Errorf("missing name or type; %s", form)
	}
	spec := prog.MapSpec{Name: f[0]}
	t, err := parseMapType(f[1])
	if err != nil {
		return spec, err
	}
	spec.Type = t
	have := map[string]bool{}
	for _, kv := range f[2:] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return spec, fmt.Errorf("%q is not KEY=VALUE; %s", kv, form)
		}
		if have[k] {
			return spec, fmt.Errorf("%s= given twice", k)
		}
		have[k] = true
		n, err := parseSize(k, v)
		if err != nil {
			return spec, err
		}
		switch k {
		case "key":
			spec.KeySize = n
		case "value":
			spec.ValueSize = n
		case "entries":
			spec.MaxEntries = n
		case "flags":
			spec.Flags = prog.MapFlags(n)
		default:
			return spec, fmt.Errorf("unknown attribute %q; %s", k, form)
		}
	}
	for _, k := range []string{"key", "value", "entries"} {
		if !have[k] && !(k == "key" && keyless(spec.Type)) && !(k == "value" && spec.Type == prog.RingBuf) {
			return spec, fmt.Errorf("%s= is missing; %s", k, form)
		}
	}
	return spec, spec.Validate()
}

// keyless reports whether maps of type t have no keys.
func keyless(t prog.MapType) bool {
	return t == prog.Queue || t == prog.Stack || t == prog.RingBuf || t == prog.BloomFilter
}

// parseMapFlag parses --map NAME:TYPE:KEY:VALUE:ENTRIES.
func parseMapFlag(s string) (mapDecl, error) {
	f := strings.Split(s, ":")
	if len(f) != 5 {
		return mapDecl{}, fmt.Errorf("--map %q: want NAME:TYPE:KEY:VALUE:ENTRIES", s)
	}
	spec, err := parseDirective([]string{f[0], f[1], "key=" + f[2], "value=" + f[3], "entries=" + f[4]})
	if err != nil {
		return mapDecl{}, fmt.Errorf("--map %q: %w", s, err)
	}
	return mapDecl{spec: spec, where: "--map"}, nil
}

// mapRef matches the map references of the assembler's LD_IMM64 forms,
// map_fd(NAME) and map_value(NAME, OFF).
var mapRef = regexp.MustCompile(`\bmap_(?:fd|value)\(\s*([^\s,)]+)`)

// mapRefLines returns the line of the first reference to each map in src.
func mapRefLines(src string) map[string]int {
	lines := map[string]int{}
	for k, line := range strings.Split(src, "\n") {
		for _, marker := range []string{";", "#", "//"} {
			if i := strings.Index(line, marker); i >= 0 {
				line = line[:i]
			}
		}
		for _, m := range mapRef.FindAllStringSubmatch(line, -1) {
			if _, ok := lines[m[1]]; !ok {
				lines[m[1]] = k + 1
			}
		}
	}
	return lines
}
