//go:build linux

package perf

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

var tracefsState struct {
	sync.Mutex
	path string
}

// TraceFS returns the tracefs mount point. It looks in /proc/self/mountinfo
// for a tracefs mount, then for debugfs/tracing, then at the usual mount
// points, and as a last resort mounts tracefs on /sys/kernel/tracing
// (which needs CAP_SYS_ADMIN). tracefs exists since Linux 4.1.
func TraceFS() (string, error) {
	tracefsState.Lock()
	defer tracefsState.Unlock()
	if tracefsState.path != "" {
		return tracefsState.path, nil
	}
	p, err := findTraceFS()
	if err != nil {
		return "", err
	}
	tracefsState.path = p
	return p, nil
}

func isTraceFSDir(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "events"))
	return err == nil
}

func findTraceFS() (string, error) {
	if f, err := os.Open("/proc/self/mountinfo"); err == nil {
		var debugfs string
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			// "36 35 98:0 / /mnt rw,noatime master:1 - ext3 /dev/root rw"
			pre, post, ok := strings.Cut(sc.Text(), " - ")
			if !ok {
				continue
			}
			pf, qf := strings.Fields(pre), strings.Fields(post)
			if len(pf) < 5 || len(qf) < 1 {
				continue
			}
			mnt := unescapeMountinfo(pf[4])
			switch qf[0] {
			case "tracefs":
				if isTraceFSDir(mnt) {
					f.Close()
					return mnt, nil
				}
			case "debugfs":
				if debugfs == "" && isTraceFSDir(filepath.Join(mnt, "tracing")) {
					debugfs = filepath.Join(mnt, "tracing")
				}
			}
		}
		f.Close()
		if debugfs != "" {
			return debugfs, nil
		}
	}
	for _, p := range []string{"/sys/kernel/tracing", "/sys/kernel/debug/tracing"} {
		if isTraceFSDir(p) {
			return p, nil
		}
	}
	const target = "/sys/kernel/tracing"
	if err := unix.Mount("tracefs", target, "tracefs", 0, ""); err != nil {
		if errors.Is(err, unix.ENODEV) {
			return "", fmt.Errorf("tracefs: the kernel has no tracefs (CONFIG_TRACING off): %w", ErrNotSupported)
		}
		return "", fmt.Errorf("tracefs is not mounted and mounting it on %s failed: %w", target, err)
	}
	return target, nil
}

// unescapeMountinfo undoes the octal escapes (\040 for space, ...) of
// /proc/self/mountinfo paths.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// eventNameRE is what tracefs accepts as an event group or name.
var eventNameRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// traceEventID reads the id of tracefs event group/name.
func traceEventID(group, name string) (uint64, error) {
	if !eventNameRE.MatchString(group) || !eventNameRE.MatchString(name) {
		return 0, fmt.Errorf("tracepoint %q/%q: group and name must be identifiers ([A-Za-z_][A-Za-z0-9_]*)", group, name)
	}
	tfs, err := TraceFS()
	if err != nil {
		return 0, err
	}
	p := filepath.Join(tfs, "events", group, name, "id")
	b, err := os.ReadFile(p)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, fmt.Errorf("tracepoint %s/%s: %w (no %s)", group, name, ErrNotFound, p)
		}
		return 0, fmt.Errorf("tracepoint %s/%s: %w", group, name, err)
	}
	id, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("tracepoint %s/%s: bad id %q in %s", group, name, b, p)
	}
	return id, nil
}

// probeGroup is the tracefs event group of the probe events this package
// creates.
const probeGroup = "purebpf"

var probeSeq atomic.Uint64

// probeEvent is a dynamic kprobe or uprobe event created through tracefs.
type probeEvent struct {
	file  string // kprobe_events or uprobe_events, full path
	group string
	name  string
	id    uint64
}

// sanitizeEventPart turns s into something usable inside an event name.
func sanitizeEventPart(s string, max int) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			b[i] = '_'
		}
	}
	if len(b) > max {
		b = b[:max]
	}
	return string(b)
}

// createProbeEvent writes "p:group/name spec" (or "r:" for a return probe)
// to tracefs kind_events, where kind is "kprobe" or "uprobe", and reads back
// the event id. The event name is unique to this process. On any failure
// after the write the event is removed again.
func createProbeEvent(kind, label, spec string, ret bool) (*probeEvent, error) {
	tfs, err := TraceFS()
	if err != nil {
		return nil, err
	}
	file := filepath.Join(tfs, kind+"_events")
	if _, err := os.Stat(file); err != nil {
		return nil, fmt.Errorf("%s: no %s (kernel built without CONFIG_%s_EVENTS?): %w",
			kind, file, strings.ToUpper(kind), ErrNotSupported)
	}
	// MAX_EVENT_NAME_LEN is 64 including the NUL.
	name := fmt.Sprintf("pb_%s_%d_%d", sanitizeEventPart(label, 32), os.Getpid(), probeSeq.Add(1))
	typ := "p"
	if ret {
		typ = "r"
	}
	pe := &probeEvent{file: file, group: probeGroup, name: name}
	line := fmt.Sprintf("%s:%s/%s %s", typ, pe.group, pe.name, spec)
	if err := writeTraceFile(file, line); err != nil {
		return nil, fmt.Errorf("creating %s event %q: %w", kind, line, err)
	}
	id, err := traceEventID(pe.group, pe.name)
	if err != nil {
		rerr := pe.remove()
		return nil, errors.Join(fmt.Errorf("%s event %s: %w", kind, name, err), rerr)
	}
	pe.id = id
	return pe, nil
}

func writeTraceFile(path, line string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	_, werr := f.WriteString(line + "\n")
	cerr := f.Close()
	if werr != nil {
		return werr
	}
	return cerr
}

// remove deletes the event ("-:group/name"). The perf event using it must
// be closed first, or the kernel answers EBUSY.
func (pe *probeEvent) remove() error {
	if err := writeTraceFile(pe.file, fmt.Sprintf("-:%s/%s", pe.group, pe.name)); err != nil {
		return fmt.Errorf("removing tracefs event %s/%s: %w", pe.group, pe.name, err)
	}
	return nil
}

// pmuInfo describes a dynamic PMU such as "kprobe" or "uprobe" (Linux
// 4.17+): its perf type and the config bit that selects a return probe.
type pmuInfo struct {
	typ       uint32
	retBit    uint
	hasRetBit bool
}

var pmuCache sync.Map // name -> pmuInfo

// errNoPMU is returned by readPMU when the PMU does not exist.
var errNoPMU = errors.New("no such PMU")

func readPMU(name string) (pmuInfo, error) {
	if v, ok := pmuCache.Load(name); ok {
		return v.(pmuInfo), nil
	}
	dir := filepath.Join("/sys/bus/event_source/devices", name)
	b, err := os.ReadFile(filepath.Join(dir, "type"))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return pmuInfo{}, errNoPMU
		}
		return pmuInfo{}, err
	}
	t, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 32)
	if err != nil {
		return pmuInfo{}, fmt.Errorf("%s/type: bad value %q", dir, b)
	}
	info := pmuInfo{typ: uint32(t)}
	if f, err := os.ReadFile(filepath.Join(dir, "format", "retprobe")); err == nil {
		// "config:0"
		s := strings.TrimSpace(string(f))
		v, ok := strings.CutPrefix(s, "config:")
		bit, perr := strconv.ParseUint(v, 10, 6)
		if !ok || perr != nil {
			return pmuInfo{}, fmt.Errorf("%s/format/retprobe: unexpected %q", dir, s)
		}
		info.retBit, info.hasRetBit = uint(bit), true
	}
	pmuCache.Store(name, info)
	return info, nil
}

// kallsymsHas reports whether /proc/kallsyms lists a symbol called name.
func kallsymsHas(name string) (bool, error) {
	f, err := os.Open("/proc/kallsyms")
	if err != nil {
		return false, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// "ffffffff81000000 T _text [module]"
		line := sc.Text()
		i := strings.IndexByte(line, ' ')
		if i < 0 || i+3 > len(line) {
			continue
		}
		rest := line[i+3:]
		if j := strings.IndexAny(rest, " \t"); j >= 0 {
			rest = rest[:j]
		}
		if rest == name {
			return true, nil
		}
	}
	return false, sc.Err()
}
