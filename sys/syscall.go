//go:build linux

package sys

import (
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// progLoadAttempts bounds how often BPF_PROG_LOAD is tried when the
// verifier gives up with EAGAIN.
const progLoadAttempts = 5

// BPF issues the bpf(2) system call cmd with the attribute at attr, of size
// bytes, and returns the kernel's non-negative result (often a new file
// descriptor, which the caller then owns).
//
// EINTR is retried. For BPF_PROG_LOAD, SIGPROF is blocked on the calling
// thread for the duration of the call and EAGAIN is retried a bounded number
// of times (see ProgLoad). Errors are *Error values naming the command and
// wrapping the errno.
//
// attr must point to memory laid out like the command's member of union
// bpf_attr; the typed per-command functions in this package are preferred.
func BPF(cmd Cmd, attr unsafe.Pointer, size uintptr) (int, error) {
	if attr == nil && size != 0 {
		return -1, fmt.Errorf("%s: nil attribute of size %d: %w", cmdOp(cmd), size, unix.EINVAL)
	}
	if cmd == CmdProgLoad {
		return progLoad(attr, size)
	}
	r, errno := bpfRetryEINTR(cmd, attr, size)
	if errno != 0 {
		return -1, newError(cmdOp(cmd), errno)
	}
	return r, nil
}

// bpfRetryEINTR issues bpf(2) until it does not fail with EINTR. attr is
// kept as an unsafe.Pointer (never a uintptr held across statements) so the
// garbage collector keeps it alive and the stack copier adjusts it between
// attempts.
func bpfRetryEINTR(cmd Cmd, attr unsafe.Pointer, size uintptr) (int, unix.Errno) {
	for {
		r, _, errno := unix.Syscall(unix.SYS_BPF, uintptr(cmd), uintptr(attr), size)
		runtime.KeepAlive(attr)
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return -1, errno
		}
		return int(r), 0
	}
}

// progLoad runs BPF_PROG_LOAD with SIGPROF blocked on the calling thread.
//
// Why: the verifier aborts with EAGAIN (or EINTR) whenever a signal is
// pending for the loading thread. Go's CPU profiler delivers SIGPROF to
// running threads roughly every 10ms, so verifying a large program under
// pprof could be interrupted and retried forever. Blocking SIGPROF on this
// thread lets the verifier finish; a profiling signal that arrives
// meanwhile stays pending and is delivered when the old mask is restored.
// The signal mask is per thread, so the goroutine is locked to its OS
// thread while the mask is changed, and the mask is restored before the
// thread is unlocked.
func progLoad(attr unsafe.Pointer, size uintptr) (int, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	var block, old unix.Sigset_t
	sigaddset(&block, unix.SIGPROF)
	if err := unix.PthreadSigmask(unix.SIG_BLOCK, &block, &old); err != nil {
		return -1, fmt.Errorf("%s: block SIGPROF: %w", cmdOp(CmdProgLoad), err)
	}
	defer func() { _ = unix.PthreadSigmask(unix.SIG_SETMASK, &old, nil) }()

	var errno unix.Errno
	for attempt := 0; attempt < progLoadAttempts; attempt++ {
		var r int
		r, errno = bpfRetryEINTR(CmdProgLoad, attr, size)
		if errno == 0 {
			return r, nil
		}
		if errno != unix.EAGAIN {
			break
		}
	}
	return -1, newError(cmdOp(CmdProgLoad), errno)
}

// sigaddset adds sig to set, like sigaddset(3).
func sigaddset(set *unix.Sigset_t, sig unix.Signal) {
	bit := uint(sig) - 1
	width := uint(unsafe.Sizeof(set.Val[0])) * 8
	set.Val[bit/width] |= 1 << (bit % width)
}

// bpfFD runs cmd and wraps the resulting descriptor in an FD.
func bpfFD(cmd Cmd, attr unsafe.Pointer, size uintptr) (*FD, error) {
	raw, err := BPF(cmd, attr, size)
	if err != nil {
		return nil, err
	}
	fd, err := NewFD(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cmdOp(cmd), err)
	}
	return fd, nil
}

// nilAttr is the error for a nil attribute pointer passed to a typed
// wrapper.
func nilAttr(cmd Cmd) error {
	return fmt.Errorf("%s: nil attribute: %w", cmdOp(cmd), unix.EINVAL)
}

// MapCreate creates a map (BPF_MAP_CREATE) and returns its descriptor.
func MapCreate(attr *MapCreateAttr) (*FD, error) {
	if attr == nil {
		return nil, nilAttr(CmdMapCreate)
	}
	return bpfFD(CmdMapCreate, unsafe.Pointer(attr), unsafe.Sizeof(*attr))
}

func mapElem(cmd Cmd, attr *MapElemAttr) error {
	if attr == nil {
		return nilAttr(cmd)
	}
	_, err := BPF(cmd, unsafe.Pointer(attr), unsafe.Sizeof(*attr))
	return err
}

// MapLookupElem copies the value stored under attr.Key into attr.Value
// (BPF_MAP_LOOKUP_ELEM). A missing key gives an error wrapping unix.ENOENT.
func MapLookupElem(attr *MapElemAttr) error {
	return mapElem(CmdMapLookupElem, attr)
}

// MapUpdateElem stores attr.Value under attr.Key (BPF_MAP_UPDATE_ELEM),
// subject to the Update* flag in attr.Flags.
func MapUpdateElem(attr *MapElemAttr) error {
	return mapElem(CmdMapUpdateElem, attr)
}

// MapDeleteElem deletes attr.Key (BPF_MAP_DELETE_ELEM). A missing key gives
// an error wrapping unix.ENOENT.
func MapDeleteElem(attr *MapElemAttr) error {
	return mapElem(CmdMapDeleteElem, attr)
}

// MapGetNextKey writes the key following attr.Key into attr.Value, the
// next_key slot (BPF_MAP_GET_NEXT_KEY). A NULL attr.Key asks for the first
// key; the end of the map gives an error wrapping unix.ENOENT.
func MapGetNextKey(attr *MapElemAttr) error {
	return mapElem(CmdMapGetNextKey, attr)
}

// MapLookupAndDeleteElem copies the value under attr.Key into attr.Value and
// deletes the element (BPF_MAP_LOOKUP_AND_DELETE_ELEM). For queue and stack
// maps attr.Key is NULL and the next element is popped.
func MapLookupAndDeleteElem(attr *MapElemAttr) error {
	return mapElem(CmdMapLookupAndDeleteElem, attr)
}

// MapFreeze makes a map read-only for user space (BPF_MAP_FREEZE).
func MapFreeze(attr *MapFreezeAttr) error {
	if attr == nil {
		return nilAttr(CmdMapFreeze)
	}
	_, err := BPF(CmdMapFreeze, unsafe.Pointer(attr), unsafe.Sizeof(*attr))
	return err
}

func mapBatch(cmd Cmd, attr *MapBatchAttr) error {
	if attr == nil {
		return nilAttr(cmd)
	}
	_, err := BPF(cmd, unsafe.Pointer(attr), unsafe.Sizeof(*attr))
	return err
}

// MapLookupBatch reads up to attr.Count elements starting at attr.InBatch
// (BPF_MAP_LOOKUP_BATCH). On return attr.Count holds the number read and
// attr.OutBatch the position to continue from; the last batch fails with an
// error wrapping unix.ENOENT, with attr.Count still valid.
func MapLookupBatch(attr *MapBatchAttr) error {
	return mapBatch(CmdMapLookupBatch, attr)
}

// MapLookupAndDeleteBatch is MapLookupBatch that also deletes the elements
// read (BPF_MAP_LOOKUP_AND_DELETE_BATCH).
func MapLookupAndDeleteBatch(attr *MapBatchAttr) error {
	return mapBatch(CmdMapLookupAndDeleteBatch, attr)
}

// MapUpdateBatch writes attr.Count elements (BPF_MAP_UPDATE_BATCH).
func MapUpdateBatch(attr *MapBatchAttr) error {
	return mapBatch(CmdMapUpdateBatch, attr)
}

// MapDeleteBatch deletes attr.Count keys (BPF_MAP_DELETE_BATCH).
func MapDeleteBatch(attr *MapBatchAttr) error {
	return mapBatch(CmdMapDeleteBatch, attr)
}

// ProgLoad verifies and loads a program (BPF_PROG_LOAD) and returns its
// descriptor.
//
// SIGPROF is blocked on the calling thread during the call so a CPU
// profile cannot keep interrupting the verifier, and EAGAIN is retried up
// to 5 attempts in total. When a verifier log was requested, a log buffer
// that is too small gives an error wrapping unix.ENOSPC, and on Linux 6.4+
// attr.LogTrueSize tells the size needed.
func ProgLoad(attr *ProgLoadAttr) (*FD, error) {
	if attr == nil {
		return nil, nilAttr(CmdProgLoad)
	}
	return bpfFD(CmdProgLoad, unsafe.Pointer(attr), unsafe.Sizeof(*attr))
}

// ProgTestRun runs a program on test input (BPF_PROG_TEST_RUN); the results
// are written back into attr (Retval, Duration, DataSizeOut, CtxSizeOut).
func ProgTestRun(attr *ProgTestRunAttr) error {
	if attr == nil {
		return nilAttr(CmdProgTestRun)
	}
	_, err := BPF(CmdProgTestRun, unsafe.Pointer(attr), unsafe.Sizeof(*attr))
	return err
}

// ObjPin pins the object fd refers to at path, which must lie in a bpffs
// (BPF_OBJ_PIN).
func ObjPin(path string, fd *FD) error {
	name, err := NewStringPointer(path)
	if err != nil {
		return fmt.Errorf("%s: %w: %w", cmdOp(CmdObjPin), err, unix.EINVAL)
	}
	attr := ObjAttr{Pathname: name, BPFFD: fd.Uint()}
	_, err = BPF(CmdObjPin, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	runtime.KeepAlive(fd)
	return err
}

// ObjGet opens the object pinned at path (BPF_OBJ_GET). flags are the
// file_flags: 0 for read-write, or MapFlagRdonly / MapFlagWronly for maps.
func ObjGet(path string, flags MapFlags) (*FD, error) {
	name, err := NewStringPointer(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", cmdOp(CmdObjGet), err, unix.EINVAL)
	}
	attr := ObjAttr{Pathname: name, FileFlags: uint32(flags)}
	fd, err := bpfFD(CmdObjGet, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	if err != nil && errors.Is(err, unix.EACCES) {
		// bpf_obj_do_get answers EACCES for a file that is not a pin
		// (bpf_inode_type), which reads like a permission problem.
		var st unix.Statfs_t
		if unix.Statfs(path, &st) == nil && uint32(st.Type) != unix.BPF_FS_MAGIC {
			err = fmt.Errorf("%w: %s is not on a BPF filesystem (bpffs), so it is no pin", err, path)
		}
	}
	return fd, err
}

// ObjGetInfoByFD asks the kernel to describe the object fd refers to
// (BPF_OBJ_GET_INFO_BY_FD), filling at most size bytes at info, which
// should point to a ProgInfo, MapInfo or similar struct.
func ObjGetInfoByFD(fd *FD, info unsafe.Pointer, size uint32) error {
	if info == nil {
		return nilAttr(CmdObjGetInfoByFD)
	}
	attr := InfoAttr{BPFFD: fd.Uint(), InfoLen: size, Info: NewPointer(info)}
	_, err := BPF(CmdObjGetInfoByFD, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	runtime.KeepAlive(fd)
	return err
}

// ProgGetInfoByFD fills info for the program fd refers to. Set info's
// Pointer fields and counts beforehand to also retrieve arrays such as the
// map IDs.
func ProgGetInfoByFD(fd *FD, info *ProgInfo) error {
	if info == nil {
		return nilAttr(CmdObjGetInfoByFD)
	}
	return ObjGetInfoByFD(fd, unsafe.Pointer(info), uint32(unsafe.Sizeof(*info)))
}

// MapGetInfoByFD fills info for the map fd refers to.
func MapGetInfoByFD(fd *FD, info *MapInfo) error {
	if info == nil {
		return nilAttr(CmdObjGetInfoByFD)
	}
	return ObjGetInfoByFD(fd, unsafe.Pointer(info), uint32(unsafe.Sizeof(*info)))
}

func getNextID(cmd Cmd, start uint32) (uint32, error) {
	attr := GetIDAttr{ID: start}
	if _, err := BPF(cmd, unsafe.Pointer(&attr), unsafe.Sizeof(attr)); err != nil {
		return 0, err
	}
	return attr.NextID, nil
}

func getFDByID(cmd Cmd, id uint32, flags uint32) (*FD, error) {
	attr := GetIDAttr{ID: id, OpenFlags: flags}
	return bpfFD(cmd, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
}

// ProgGetNextID returns the ID of the loaded program following start
// (BPF_PROG_GET_NEXT_ID); start 0 gives the first. After the last program
// the error wraps unix.ENOENT.
func ProgGetNextID(start uint32) (uint32, error) {
	return getNextID(CmdProgGetNextID, start)
}

// MapGetNextID returns the ID of the map following start
// (BPF_MAP_GET_NEXT_ID); start 0 gives the first. After the last map the
// error wraps unix.ENOENT.
func MapGetNextID(start uint32) (uint32, error) {
	return getNextID(CmdMapGetNextID, start)
}

// LinkGetNextID returns the ID of the link following start
// (BPF_LINK_GET_NEXT_ID); after the last link the error wraps unix.ENOENT.
func LinkGetNextID(start uint32) (uint32, error) {
	return getNextID(CmdLinkGetNextID, start)
}

// ProgGetFDByID opens the program with the given ID (BPF_PROG_GET_FD_BY_ID).
func ProgGetFDByID(id uint32) (*FD, error) {
	return getFDByID(CmdProgGetFDByID, id, 0)
}

// MapGetFDByID opens the map with the given ID (BPF_MAP_GET_FD_BY_ID);
// flags is 0 for read-write access or MapFlagRdonly / MapFlagWronly.
func MapGetFDByID(id uint32, flags MapFlags) (*FD, error) {
	return getFDByID(CmdMapGetFDByID, id, uint32(flags))
}

// LinkGetFDByID opens the link with the given ID (BPF_LINK_GET_FD_BY_ID).
func LinkGetFDByID(id uint32) (*FD, error) {
	return getFDByID(CmdLinkGetFDByID, id, 0)
}

// LinkCreate attaches a program (BPF_LINK_CREATE) and returns the link's
// descriptor; closing it detaches the program unless the link is pinned.
// attr is one of the LinkCreate*Attr structs, chosen by attach type, e.g.
// *LinkCreatePerfEventAttr for AttachPerfEvent.
func LinkCreate(attr LinkCreateVariant) (*FD, error) {
	if attr == nil {
		return nil, nilAttr(CmdLinkCreate)
	}
	ptr, size := attr.linkCreateAttr()
	if ptr == nil {
		return nil, nilAttr(CmdLinkCreate)
	}
	fd, err := bpfFD(CmdLinkCreate, ptr, size)
	runtime.KeepAlive(attr)
	return fd, err
}

// LinkDetach detaches the program of link from its target
// (BPF_LINK_DETACH) without closing the link, which stays valid but
// defunct.
func LinkDetach(link *FD) error {
	attr := LinkDetachAttr{LinkFD: link.Uint()}
	_, err := BPF(CmdLinkDetach, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	runtime.KeepAlive(link)
	return err
}
