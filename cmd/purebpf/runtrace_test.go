package main

import (
	"encoding/binary"
	"strings"
	"testing"
)

// run --ctx FILE runs tracing programs in both userspace engines:
// assembly with --type, and programs of a clang-built object, whose
// .kconfig and CO-RE relocations get the host's values.
func TestRunTracing(t *testing.T) {
	args := make([]byte, 24)
	binary.LittleEndian.PutUint64(args[8:], 40)
	binary.LittleEndian.PutUint64(args[16:], 2)
	argsFile := write(t, "args.bin", string(args))
	perf := make([]byte, 184)
	binary.LittleEndian.PutUint64(perf[168:], 42) // sample_period
	perfFile := write(t, "perf.bin", string(perf))
	sum := write(t, "sum.s", "r0 = *(u64 *)(r1 + 8)\nr2 = *(u64 *)(r1 + 16)\nr0 += r2\nexit\n")
	period := write(t, "period.s", "r0 = *(u64 *)(r1 + 168)\nexit\n")
	for _, engine := range []string{"interp", "jit"} {
		for _, c := range []struct {
			typ, prog, ctx string
		}{
			{"tracepoint", sum, argsFile}, {"raw_tracepoint", sum, argsFile}, {"tracing", sum, argsFile},
			{"perf_event", period, perfFile},
		} {
			code, out, stderr := purebpf(t, "run", "--engine", engine, "--type", c.typ, "--ctx", c.ctx, "--repeat", "2", c.prog)
			if code != 0 || !strings.HasPrefix(out, "r0 = 0x2a\nmedian ") {
				t.Errorf("%s %s: %d %q %s", engine, c.typ, code, out, stderr)
			}
		}
		// Out of the context: the error names the offset.
		code, _, stderr := purebpf(t, "run", "--engine", engine, "--type", "raw_tracepoint", "--ctx", write(t, "one.bin", "12345678"), sum)
		if code != 1 || !strings.Contains(stderr, "context offset 8: outside the 8-byte context") {
			t.Errorf("%s: past the arguments: %d %s", engine, code, stderr)
		}
		code, _, stderr = purebpf(t, "run", "--engine", engine, "--type", "raw_tracepoint", "--ctx", write(t, "odd.bin", "123"), sum)
		if code != 1 || !strings.Contains(stderr, "u64 arguments") {
			t.Errorf("%s: 3-byte argument file: %d %s", engine, code, stderr)
		}
		// An object's raw tracepoint and tracepoint programs.
		for _, p := range []string{"s_raw_tp", "s_tp", "s_perf_event", "s_tp_btf"} {
			code, out, stderr := purebpf(t, "run", "--engine", engine, "--ctx", argsFile, "../../prog/testdata/bpf/sections.bpf.o:"+p)
			if code != 0 || out != "r0 = 0x0\n" {
				t.Errorf("%s %s: %d %q %s", engine, p, code, out, stderr)
			}
		}
	}
}
