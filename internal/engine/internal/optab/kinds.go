package optab

// Kind is what an op does, for the analyses of a program (basic blocks,
// stack reach, budget) and for exec: an index into Kinds.
type Kind uint8

// The kinds. Their engine constants are "kind" + the name in Kinds.
const (
	Invalid Kind = iota
	ALUKind
	LoadImmKind
	MapValueKind
	PacketKind
	LoadKind
	LoadAcqKind
	StoreImmKind
	StoreRegKind
	StoreRelKind
	AtomicKind
	JaKind
	JumpKind
	MayGotoKind
	CallKind
	CallXKind
	CallLocalKind
	TailCallKind
	ExitKind
)

// Reach is how an op's register fields take part in the stack-reach
// analysis (engine's program.stackReach): whether r10 in them lets the
// program form any stack address, and which one is the base of an
// access.
type Reach uint8

// The reach rules. Every kind must choose one (ReachUnset is refused).
const (
	ReachUnset Reach = iota
	// ReachNone: the fields hold no register (ja, may_goto, helper
	// calls, exit).
	ReachNone
	// ReachValues: dst and src are values; r10 in either escapes (ALU,
	// conditional jumps, lddw, LD_ABS/LD_IND).
	ReachValues
	// ReachLoad: src is the base of an access of sz bytes at off, dst
	// receives the value (ldx, load-acquire).
	ReachLoad
	// ReachStoreImm: dst is the base; the value is imm (st).
	ReachStoreImm
	// ReachStore: dst is the base; src is a value (stx, store-release,
	// atomics).
	ReachStore
	// ReachAll: the op can reach the whole main frame (tail calls and
	// callx run in this frame; a bpf-to-bpf callee's stack region spans
	// the frames above it).
	ReachAll
)

// ReachNames are the engine's constants of the reach rules, and
// reachDocs their comments.
var ReachNames = [...]string{
	ReachNone:     "reachNone",
	ReachValues:   "reachValues",
	ReachLoad:     "reachLoad",
	ReachStoreImm: "reachStoreImm",
	ReachStore:    "reachStore",
	ReachAll:      "reachAll",
}

var reachDocs = [...]string{
	ReachNone:     "the fields hold no register",
	ReachValues:   "dst and src are values: r10 in either escapes",
	ReachLoad:     "src is the base of an access, dst receives the value",
	ReachStoreImm: "dst is the base, the value is imm",
	ReachStore:    "dst is the base, src a value",
	ReachAll:      "the op can reach the whole main frame",
}

// KindInfo is a kind's row: its name, comment and what the analyses do
// with its ops.
type KindInfo struct {
	Name string // the engine constant is "kind" + Name
	Doc  string
	// Straight: fast runs the op and continues with the next slot
	// without leaving its basic block.
	Straight bool
	Reach    Reach
}

// Kinds describes every Kind. To add a kind, add its constant and its row
// here; Generate refuses a kind without a row or a reach rule.
var Kinds = []KindInfo{
	Invalid:       {Name: "Invalid", Doc: "second slot of lddw", Reach: ReachNone},
	ALUKind:       {Name: "ALU", Doc: "register arithmetic and byte order", Straight: true, Reach: ReachValues},
	LoadImmKind:   {Name: "LoadImm", Doc: "lddw of a value or a map handle", Straight: true, Reach: ReachValues},
	MapValueKind:  {Name: "MapValue", Doc: "lddw of a map value's address (Go finds it)", Reach: ReachValues},
	PacketKind:    {Name: "Packet", Doc: "LD_ABS, LD_IND (a read past the packet leaves to exec, which ends the run)", Straight: true, Reach: ReachValues},
	LoadKind:      {Name: "Load", Doc: "ldx, ldsx: src is the base", Straight: true, Reach: ReachLoad},
	LoadAcqKind:   {Name: "LoadAcq", Doc: "load-acquire: src is the base", Reach: ReachLoad},
	StoreImmKind:  {Name: "StoreImm", Doc: "st: dst is the base, imm the value", Straight: true, Reach: ReachStoreImm},
	StoreRegKind:  {Name: "StoreReg", Doc: "stx: dst is the base, src the value", Straight: true, Reach: ReachStore},
	StoreRelKind:  {Name: "StoreRel", Doc: "store-release: as stx", Reach: ReachStore},
	AtomicKind:    {Name: "Atomic", Doc: "atomic read-modify-write: as stx", Reach: ReachStore},
	JaKind:        {Name: "Ja", Doc: "unconditional jump", Reach: ReachNone},
	JumpKind:      {Name: "Jump", Doc: "conditional jump", Reach: ReachValues},
	MayGotoKind:   {Name: "MayGoto", Doc: "may_goto", Reach: ReachNone},
	CallKind:      {Name: "Call", Doc: "helper call", Reach: ReachNone},
	CallXKind:     {Name: "CallX", Doc: "callx", Reach: ReachAll},
	CallLocalKind: {Name: "CallLocal", Doc: "bpf-to-bpf call", Reach: ReachAll},
	TailCallKind:  {Name: "TailCall", Doc: "tail_call", Reach: ReachAll},
	ExitKind:      {Name: "Exit", Doc: "exit", Reach: ReachNone},
}
