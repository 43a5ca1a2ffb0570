//go:build amd64 && unix

package jit

import (
	"testing"
	"unsafe"
)

// TestTrampolineOffsets checks the state offsets that trampoline_amd64.s
// spells as literals (it cannot use Go constants): the BPF registers at 0,
// the budget at 88, the entry address at 96 and the exit reason at 104,
// with exitDone = 0.
func TestTrampolineOffsets(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want int32
	}{
		{"regs", offRegs, 0},
		{"budget", offBudget, 88},
		{"entry", offEntry, 96},
		{"exit", offExit, 104},
		{"savedBP", int32(unsafe.Offsetof(state{}.savedBP)), 216},
		{"depth", offDepth, 136},
		{"loops", offLoops, 144},
		{"stkLo", offStkLo, 168},
		{"stkTop", offStkTop, 176},
		{"pkt", offPkt, 184},
		{"pktLen", offPktLen, 192},
		{"reserve", int32(unsafe.Offsetof(state{}.reserve)), 3448},
		{"qTop", int32(unsafe.Offsetof(state{}.qTop)), 3456},
		{"qLo", int32(unsafe.Offsetof(state{}.qLo)), 3464},
		{"qBudget", int32(unsafe.Offsetof(state{}.qBudget)), 3472},
		{"qReserve", int32(unsafe.Offsetof(state{}.qReserve)), 3480},
		{"qEntry", int32(unsafe.Offsetof(state{}.qEntry)), 3488},
		{"qZero", int32(unsafe.Offsetof(state{}.qZero)), 3496},
		{"maxLoops", maxLoops, 8388608},
		{"Runner.vm", int32(unsafe.Offsetof(Runner{}.vm)), 0},
		{"Runner.r", int32(unsafe.Offsetof(Runner{}.r)), 8},
		{"run.st", int32(unsafe.Offsetof(run{}.st)), 0},
		{"run.tabA", int32(unsafe.Offsetof(run{}.tabA)), 5144},
		{"run.tabN", int32(unsafe.Offsetof(run{}.tabN)), 5152},
		{"run.quickMem", int32(unsafe.Offsetof(run{}.quickMem)), 5160},
		{"VM.closed", int32(unsafe.Offsetof(VM{}.closed)), 64},
		{"VM.closed size", int32(unsafe.Sizeof(VM{}.closed)), 4},
		{"exitDone", exitDone, 0},
	} {
		if c.got != c.want {
			t.Errorf("state.%s is at %d, trampoline_amd64.s uses %d", c.name, c.got, c.want)
		}
	}
}
