//go:build amd64 && unix

#include "textflag.h"

// STORE_REGS stores BPF r1-r10 and the budget (DX) from the x86
// registers they live in back into the state at R10; r0 (AX) is stored by
// the caller.
#define STORE_REGS \
	MOVQ DI, 8(R10) \
	MOVQ SI, 16(R10) \
	MOVQ BX, 24(R10) \
	MOVQ R8, 32(R10) \
	MOVQ R9, 40(R10) \
	MOVQ R12, 48(R10) \
	MOVQ R13, 56(R10) \
	MOVQ R14, 64(R10) \
	MOVQ R15, 72(R10) \
	MOVQ BP, 80(R10) \
	MOVQ DX, 88(R10)

// func enter(st *state)
//
// enter is the way back into generated code after an exit to Go (and the
// way in for everything but the start of a raw-memory or context run,
// enterMem). It has a real, split-checked Go frame, so the goroutine stack
// below it has at least the runtime's StackGuard slack; the generated code
// uses a bounded 16 bytes of it (the return address of the CALL below and
// that of the CALL into the region search routine). The split check is
// also where a long run, which returns to Go at every budget slice, lets
// the runtime preempt it (stackguard0 = stackPreempt): enter must keep it
// (TestLongRunLetsGCIn). It loads the BPF registers from st into the
// x86 registers they live in while generated code runs:
//
//	r0 AX  r1 DI  r2 SI  r3 BX  r4 R8  r5 R9
//	r6 R12 r7 R13 r8 R14 r9 R15 r10 BP
//
// with st in R10, the remaining budget in DX, and CX and R11 as scratch.
// The code returns with RET after writing its exit reason into st; enter
// then stores the registers back. BP and R14 (the Go frame pointer and
// the ABIInternal g register) are clobbered inside but restored by the
// frame epilogue and the ABI wrapper respectively.
TEXT ·enter(SB), 0, $64-8
	MOVQ st+0(FP), R10
	MOVQ 0(R10), AX
	MOVQ 8(R10), DI
	MOVQ 16(R10), SI
	MOVQ 24(R10), BX
	MOVQ 32(R10), R8
	MOVQ 40(R10), R9
	MOVQ 48(R10), R12
	MOVQ 56(R10), R13
	MOVQ 64(R10), R14
	MOVQ 72(R10), R15
	MOVQ BP, 56(SP)
	MOVQ 80(R10), BP
	MOVQ 88(R10), DX
	MOVQ 96(R10), R11
	CALL R11
	MOVQ AX, 0(R10)
	STORE_REGS
	MOVQ 56(SP), BP
	RET

// func enterMem(st *state, r1, r2, r10 uint64)
//
// enterMem is enter for the start of a raw-memory or context run. It has
// no stack-split check (NOSPLIT, one compare and branch less per run):
// its callers are split-checked Go functions, which leave a nosplit chain
// below them at least the runtime's StackLimit (800 bytes on linux/amd64,
// checked by the linker), of which its return address takes 8 bytes (it
// has no frame: the caller's BP, which the code clobbers as BPF r10, is
// kept in state.savedBP) and the generated code a bounded 16 more; and a run that lasts
// returns to Go at its first budget slice and goes on through enter,
// which keeps the split check where the runtime preempts it. Instead of loading
// all eleven BPF registers from st it takes r1, r2 and r10 as arguments
// and zeroes the others in place, and when the code finishes normally
// (exit reason exitDone, 0) it stores back only r0, the result. Any other
// exit stores every register and the budget, as enter does, for the Go
// side to handle and resume with enter.
TEXT ·enterMem(SB), NOSPLIT|NOFRAME, $0-32
	MOVQ st+0(FP), R10
	MOVQ r1+8(FP), DI
	MOVQ r2+16(FP), SI
	MOVQ BP, 216(R10)
	MOVQ r10+24(FP), BP
	XORL AX, AX
	XORL BX, BX
	XORL R8, R8
	XORL R9, R9
	XORL R12, R12
	XORL R13, R13
	XORL R14, R14
	XORL R15, R15
	MOVQ 88(R10), DX
	MOVQ 96(R10), R11
	CALL R11
	MOVQ AX, 0(R10)
	CMPQ 104(R10), $0
	JEQ done
	STORE_REGS
done:
	MOVQ 216(R10), BP
	RET

// Offsets of the state fields enterQuick sets (TestTrampolineOffsets).
#define ST_DEPTH 136
#define ST_LOOPS 144
#define ST_STKLO 168
#define ST_STKTOP 176
#define ST_PKT 184
#define ST_PKTLEN 192
#define ST_RESERVE 3448
#define ST_QTOP 3456
#define ST_QLO 3464
#define ST_QBUDGET 3472
#define ST_QRESERVE 3480
#define ST_QENTRY 3488
#define ST_QZERO 3496
#define MAX_LOOPS 8388608
// Offsets in Runner, run and VM runnerMemory reads (TestTrampolineOffsets).
#define RUNNER_VM 0
#define RUNNER_R 8
#define RUN_TABA 5144
#define RUN_TABN 5152
#define RUN_QUICKMEM 5160
#define VM_CLOSED 64

// QUICK_ENTER is enterQuick's body from the zeroing of the stack slot to
// the return of the code, with st in R10, r1 in DI, r2 in SI, the packet
// address in CX and its length in R8; it leaves r0 in AX and in st.regs[0].
#define QUICK_ENTER \
	MOVQ ST_QZERO(R10), R11 \
	TESTQ R11, R11 \
	JEQ 2(PC) \
	MOVQ $0, 0(R11) \
	MOVQ CX, ST_PKT(R10) \
	MOVQ R8, ST_PKTLEN(R10) \
	MOVQ ST_QLO(R10), AX \
	MOVQ AX, ST_STKLO(R10) \
	MOVQ ST_QTOP(R10), AX \
	MOVQ AX, ST_STKTOP(R10) \
	MOVQ $0, ST_DEPTH(R10) \
	MOVQ $MAX_LOOPS, ST_LOOPS(R10) \
	MOVQ ST_QBUDGET(R10), DX \
	MOVQ ST_QENTRY(R10), R11 \
	MOVQ BP, 216(R10) \
	MOVQ ST_QTOP(R10), BP \
	XORL AX, AX \
	XORL BX, BX \
	XORL R8, R8 \
	XORL R9, R9 \
	XORL R12, R12 \
	XORL R13, R13 \
	XORL R14, R14 \
	XORL R15, R15 \
	CALL R11 \
	MOVQ AX, 0(R10)

// QUICK_LEAVE ends a run QUICK_ENTER made: unless the code ended with
// exitDone, it jumps to notdone, where QUICK_TO_GO must follow; otherwise
// it restores BP.
#define QUICK_LEAVE(notdone) \
	CMPQ 104(R10), $0 \
	JNE notdone \
	MOVQ 216(R10), BP

// QUICK_TO_GO stores the registers and the rest of the budget for the Go
// side to handle the exit, and restores BP.
#define QUICK_TO_GO \
	STORE_REGS \
	MOVQ ST_QRESERVE(R10), R11 \
	MOVQ R11, ST_RESERVE(R10) \
	MOVQ 216(R10), BP

// func enterQuick(st *state, r1, r2, pkt, pktLen uint64) uint64
//
// enterQuick is enterMem for a Runner's run whose setup repeats the last
// one's, with that setup done here from the state's q fields (what
// run.cache computed) rather than by the Go caller: zero the one stack
// slot qZero (if not 0), set the stack region (qLo, qTop; depth 0, the
// full may_goto allowance), the budget (qBudget, qReserve), the packet
// (pkt, pktLen), and enter the code at qEntry with r1, r2 and
// r10 = qTop, the other registers zero. It returns r0. As in enterMem, a
// run that does not end with exitDone stores every register and the
// budget back for the Go side. Same stack use as enterMem: no frame.
TEXT ·enterQuick(SB), NOSPLIT|NOFRAME, $0-48
	MOVQ st+0(FP), R10
	MOVQ r1+8(FP), DI
	MOVQ r2+16(FP), SI
	MOVQ pkt+24(FP), CX
	MOVQ pktLen+32(FP), R8
	QUICK_ENTER
	MOVQ AX, ret+40(FP)
	QUICK_LEAVE(togo)
	RET
togo:
	QUICK_TO_GO
	RET

// func runnerMemory(rn *Runner, mem []byte) (uint64, error)
//
// runnerMemory is Runner.RunMemory; see its Go declaration. The checks
// are the Go short path's: the Runner is open, its run state's quickMem
// is its VM, the VM is not closed (atomic.Bool: a 32-bit load is an
// atomic load on amd64), and mem's address (0 when empty, as
// addrOfSlice) and length are the tables'. Same stack use as enterMem:
// no frame.
TEXT ·runnerMemory(SB), NOSPLIT|NOFRAME, $0-56
	MOVQ rn+0(FP), AX
	MOVQ RUNNER_R(AX), R10
	TESTQ R10, R10
	JEQ slow
	MOVQ RUNNER_VM(AX), CX
	CMPQ RUN_QUICKMEM(R10), CX
	JNE slow
	MOVL VM_CLOSED(CX), DX
	TESTL DX, DX
	JNE slow
	MOVQ mem_base+8(FP), DI
	MOVQ mem_len+16(FP), SI
	TESTQ SI, SI
	JNE 2(PC)
	XORL DI, DI
	CMPQ RUN_TABA(R10), DI
	JNE slow
	CMPQ RUN_TABN(R10), SI
	JNE slow
	MOVQ DI, CX
	MOVQ SI, R8
	QUICK_ENTER
	QUICK_LEAVE(togo)
	MOVQ AX, ret+32(FP)
	MOVQ $0, ret1_itable+40(FP)
	MOVQ $0, ret1_data+48(FP)
	RET
togo:
	QUICK_TO_GO
	JMP ·runnerMemoryResume(SB)
slow:
	JMP ·runnerMemorySlow(SB)
