//go:build linux

package sys

import "strconv"

// Cmd is a bpf(2) command (enum bpf_cmd).
type Cmd int

// bpf(2) commands, in enum bpf_cmd order.
const (
	CmdMapCreate               Cmd = 0  // BPF_MAP_CREATE: create a map, returns an fd.
	CmdMapLookupElem           Cmd = 1  // BPF_MAP_LOOKUP_ELEM: read the value of a key.
	CmdMapUpdateElem           Cmd = 2  // BPF_MAP_UPDATE_ELEM: create or update an element.
	CmdMapDeleteElem           Cmd = 3  // BPF_MAP_DELETE_ELEM: delete an element.
	CmdMapGetNextKey           Cmd = 4  // BPF_MAP_GET_NEXT_KEY: iterate over keys.
	CmdProgLoad                Cmd = 5  // BPF_PROG_LOAD: verify and load a program, returns an fd.
	CmdObjPin                  Cmd = 6  // BPF_OBJ_PIN: pin an object in a bpffs.
	CmdObjGet                  Cmd = 7  // BPF_OBJ_GET: open a pinned object, returns an fd.
	CmdProgAttach              Cmd = 8  // BPF_PROG_ATTACH: legacy attach to a cgroup, socket, etc.
	CmdProgDetach              Cmd = 9  // BPF_PROG_DETACH: legacy detach.
	CmdProgTestRun             Cmd = 10 // BPF_PROG_TEST_RUN (alias BPF_PROG_RUN): run a program on test input.
	CmdProgGetNextID           Cmd = 11 // BPF_PROG_GET_NEXT_ID: iterate over loaded program IDs.
	CmdMapGetNextID            Cmd = 12 // BPF_MAP_GET_NEXT_ID: iterate over map IDs.
	CmdProgGetFDByID           Cmd = 13 // BPF_PROG_GET_FD_BY_ID: open a program by ID.
	CmdMapGetFDByID            Cmd = 14 // BPF_MAP_GET_FD_BY_ID: open a map by ID.
	CmdObjGetInfoByFD          Cmd = 15 // BPF_OBJ_GET_INFO_BY_FD: describe an object.
	CmdProgQuery               Cmd = 16 // BPF_PROG_QUERY: list programs attached to a target.
	CmdRawTracepointOpen       Cmd = 17 // BPF_RAW_TRACEPOINT_OPEN: attach to a raw tracepoint.
	CmdBTFLoad                 Cmd = 18 // BPF_BTF_LOAD: load BTF type information.
	CmdBTFGetFDByID            Cmd = 19 // BPF_BTF_GET_FD_BY_ID: open BTF by ID.
	CmdTaskFDQuery             Cmd = 20 // BPF_TASK_FD_QUERY: describe a task's perf/raw_tp fd.
	CmdMapLookupAndDeleteElem  Cmd = 21 // BPF_MAP_LOOKUP_AND_DELETE_ELEM: pop an element.
	CmdMapFreeze               Cmd = 22 // BPF_MAP_FREEZE: make a map read-only for user space.
	CmdBTFGetNextID            Cmd = 23 // BPF_BTF_GET_NEXT_ID: iterate over BTF IDs.
	CmdMapLookupBatch          Cmd = 24 // BPF_MAP_LOOKUP_BATCH: read many elements.
	CmdMapLookupAndDeleteBatch Cmd = 25 // BPF_MAP_LOOKUP_AND_DELETE_BATCH: pop many elements.
	CmdMapUpdateBatch          Cmd = 26 // BPF_MAP_UPDATE_BATCH: write many elements.
	CmdMapDeleteBatch          Cmd = 27 // BPF_MAP_DELETE_BATCH: delete many elements.
	CmdLinkCreate              Cmd = 28 // BPF_LINK_CREATE: attach a program, returns a link fd.
	CmdLinkUpdate              Cmd = 29 // BPF_LINK_UPDATE: replace a link's program.
	CmdLinkGetFDByID           Cmd = 30 // BPF_LINK_GET_FD_BY_ID: open a link by ID.
	CmdLinkGetNextID           Cmd = 31 // BPF_LINK_GET_NEXT_ID: iterate over link IDs.
	CmdEnableStats             Cmd = 32 // BPF_ENABLE_STATS: enable run-time statistics.
	CmdIterCreate              Cmd = 33 // BPF_ITER_CREATE: open an iterator from an iter link.
	CmdLinkDetach              Cmd = 34 // BPF_LINK_DETACH: detach a link without closing it.
	CmdProgBindMap             Cmd = 35 // BPF_PROG_BIND_MAP: tie a map's lifetime to a program.
	CmdTokenCreate             Cmd = 36 // BPF_TOKEN_CREATE: create a delegation token.
)

var cmdNames = [...]string{
	CmdMapCreate:               "BPF_MAP_CREATE",
	CmdMapLookupElem:           "BPF_MAP_LOOKUP_ELEM",
	CmdMapUpdateElem:           "BPF_MAP_UPDATE_ELEM",
	CmdMapDeleteElem:           "BPF_MAP_DELETE_ELEM",
	CmdMapGetNextKey:           "BPF_MAP_GET_NEXT_KEY",
	CmdProgLoad:                "BPF_PROG_LOAD",
	CmdObjPin:                  "BPF_OBJ_PIN",
	CmdObjGet:                  "BPF_OBJ_GET",
	CmdProgAttach:              "BPF_PROG_ATTACH",
	CmdProgDetach:              "BPF_PROG_DETACH",
	CmdProgTestRun:             "BPF_PROG_TEST_RUN",
	CmdProgGetNextID:           "BPF_PROG_GET_NEXT_ID",
	CmdMapGetNextID:            "BPF_MAP_GET_NEXT_ID",
	CmdProgGetFDByID:           "BPF_PROG_GET_FD_BY_ID",
	CmdMapGetFDByID:            "BPF_MAP_GET_FD_BY_ID",
	CmdObjGetInfoByFD:          "BPF_OBJ_GET_INFO_BY_FD",
	CmdProgQuery:               "BPF_PROG_QUERY",
	CmdRawTracepointOpen:       "BPF_RAW_TRACEPOINT_OPEN",
	CmdBTFLoad:                 "BPF_BTF_LOAD",
	CmdBTFGetFDByID:            "BPF_BTF_GET_FD_BY_ID",
	CmdTaskFDQuery:             "BPF_TASK_FD_QUERY",
	CmdMapLookupAndDeleteElem:  "BPF_MAP_LOOKUP_AND_DELETE_ELEM",
	CmdMapFreeze:               "BPF_MAP_FREEZE",
	CmdBTFGetNextID:            "BPF_BTF_GET_NEXT_ID",
	CmdMapLookupBatch:          "BPF_MAP_LOOKUP_BATCH",
	CmdMapLookupAndDeleteBatch: "BPF_MAP_LOOKUP_AND_DELETE_BATCH",
	CmdMapUpdateBatch:          "BPF_MAP_UPDATE_BATCH",
	CmdMapDeleteBatch:          "BPF_MAP_DELETE_BATCH",
	CmdLinkCreate:              "BPF_LINK_CREATE",
	CmdLinkUpdate:              "BPF_LINK_UPDATE",
	CmdLinkGetFDByID:           "BPF_LINK_GET_FD_BY_ID",
	CmdLinkGetNextID:           "BPF_LINK_GET_NEXT_ID",
	CmdEnableStats:             "BPF_ENABLE_STATS",
	CmdIterCreate:              "BPF_ITER_CREATE",
	CmdLinkDetach:              "BPF_LINK_DETACH",
	CmdProgBindMap:             "BPF_PROG_BIND_MAP",
	CmdTokenCreate:             "BPF_TOKEN_CREATE",
}

// String returns the kernel's name of the command, e.g. "BPF_MAP_CREATE",
// or "BPF_CMD(n)" for a number this package does not know.
func (c Cmd) String() string {
	if c >= 0 && int(c) < len(cmdNames) {
		return cmdNames[c]
	}
	return "BPF_CMD(" + strconv.Itoa(int(c)) + ")"
}
