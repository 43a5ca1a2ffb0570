//go:build linux

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/purebpf/purebpf/internal/testenv"
	"github.com/purebpf/purebpf/prog"
)

// TestLoadall loads every corpus object libbpf 1.1 loads and pins its
// programs, and checks that a refused object exits non-zero with the
// loader's error and leaves no pin.
func TestLoadall(t *testing.T) {
	testenv.RequireRoot(t)
	base := filepath.Join(prog.BPFFSPath, "purebpf-loadall-"+strconv.Itoa(os.Getpid()))
	t.Cleanup(func() {
		os.RemoveAll(base)
		os.Remove(filepath.Join(prog.BPFFSPath, "pinned_total"))
	})
	for obj, progs := range map[string][]string{
		"bootstrap": {"handle_exec", "handle_exit"},
		"globals":   {"compute"},
		"maps":      {"count_packets"},
		"minimal":   {"handle_tp"},
		"subprogs":  {"sock_uses_text", "xdp_first", "xdp_second", "xdp_third"},
		"tailcall":  {"entry", "tail_0", "tail_1"},
	} {
		dir := filepath.Join(base, obj)
		var out, errOut bytes.Buffer
		if code := run([]string{"loadall", "../../prog/testdata/bpf/" + obj + ".bpf.o", dir}, &out, &errOut); code != 0 {
			t.Errorf("loadall %s: exit %d: %s", obj, code, errOut.String())
			continue
		}
		for _, name := range progs {
			p, err := prog.LoadPinnedProgram(filepath.Join(dir, name))
			if err != nil {
				t.Errorf("%s: %v", obj, err)
				continue
			}
			p.Close()
		}
	}
	dir := filepath.Join(base, "unknown")
	var out, errOut bytes.Buffer
	if code := run([]string{"loadall", "../../prog/testdata/bpf/unknown_section.bpf.o", dir}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "names no program type") {
		t.Fatalf("unknown_section: exit %d, %q", code, errOut.String())
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("pins left after a failed loadall: %v", ents)
	}
}
