package bpftest

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/interp/maps"
	"github.com/purebpf/purebpf/prog"
)

// Result is what one Run found.
type Result struct {
	// Engines are the engines that ran, the reference first.
	Engines []Engine
	// Skipped says why the other engines did not run.
	Skipped map[Engine]string
	// Outcomes holds, for every input, each engine's outcome in the
	// order of Engines.
	Outcomes [][]Outcome
	// Diffs are the differences found, each between the reference engine
	// and another one.
	Diffs []Diff
	// Dropped counts the differences not kept in Diffs (Options.MaxDiffs).
	Dropped int
	// Records counts, by map, the records the reference engine's ring
	// buffers and perf event arrays held after the inputs (and were
	// drained).
	Records map[string]int
	// Notes says what was not compared, and why: after an input the
	// kernel's test run refuses (Outcome.KernelSkipped) has run in interp
	// and jit only, their maps may differ from the kernel's, and only
	// they are compared with each other from then on.
	Notes []string

	max    int
	perMap map[string]int
}

// Diff is one difference between the reference engine (Want) and another
// (Got).
type Diff struct {
	// Input is the index of the input in Run's sequence, or -1 for a
	// difference in a map after the sequence.
	Input int
	// What names what differs: "return value", "error", "packet",
	// "memory", "context" (a tc run's __sk_buff fields), or for maps `map "name" key 0a000000`, `map "name"
	// record 3` and `map "name" records`.
	What string
	// Want and Got are the engines; WantValue and GotValue what they
	// gave, as text.
	Want, Got           Engine
	WantValue, GotValue string
}

func (d Diff) String() string {
	where := "maps"
	if d.Input >= 0 {
		where = fmt.Sprintf("input %d", d.Input)
	}
	return fmt.Sprintf("%s: %s: %s %s; %s %s", where, d.What, d.Want, d.WantValue, d.Got, d.GotValue)
}

// OK reports whether the engines agreed on everything.
func (r *Result) OK() bool { return len(r.Diffs) == 0 && r.Dropped == 0 }

// String is a readable report: the engines, and every difference kept.
func (r *Result) String() string {
	var b strings.Builder
	var names []string
	for _, e := range r.Engines {
		names = append(names, e.String())
	}
	fmt.Fprintf(&b, "%d inputs in %s", len(r.Outcomes), strings.Join(names, ", "))
	for _, e := range []Engine{Kernel, Interp, JIT} {
		if why, ok := r.Skipped[e]; ok {
			fmt.Fprintf(&b, "; %s skipped: %s", e, why)
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "; %s", n)
	}
	if r.OK() {
		b.WriteString(": no differences")
		return b.String()
	}
	fmt.Fprintf(&b, ": %d differences", len(r.Diffs)+r.Dropped)
	for _, d := range r.Diffs {
		b.WriteString("\n  ")
		b.WriteString(d.String())
	}
	if r.Dropped > 0 {
		fmt.Fprintf(&b, "\n  ... and %d more", r.Dropped)
	}
	return b.String()
}

func (r *Result) add(key string, d Diff) {
	if r.perMap == nil {
		r.perMap = map[string]int{}
	}
	r.perMap[key]++
	if r.perMap[key] > r.max {
		r.Dropped++
		return
	}
	r.Diffs = append(r.Diffs, d)
}

// compareOutcomes compares each engine's outcome of input i with the
// reference's (the first that ran it).
func (r *Result) compareOutcomes(i int, runs []Outcome) {
	ref := -1
	for k, o := range runs {
		if o.KernelSkipped == "" {
			ref = k
			break
		}
	}
	if ref < 0 {
		return
	}
	a := runs[ref]
	for _, b := range runs[ref+1:] {
		if b.KernelSkipped != "" {
			continue
		}
		d := Diff{Input: i, Want: a.Engine, Got: b.Engine}
		switch {
		case (a.Err == nil) != (b.Err == nil):
			d.What, d.WantValue, d.GotValue = "error", a.String(), b.String()
		case a.Err != nil && a.Engine != Kernel && errClass(a.Err) != errClass(b.Err):
			d.What, d.WantValue, d.GotValue = "error", a.String(), b.String()
		case a.Err != nil:
			continue // both failed alike; the kernel's errnos are not interp's sentinels
		case a.Ret != b.Ret:
			d.What, d.WantValue, d.GotValue = "return value", fmt.Sprintf("%d (%#x)", a.Ret, a.Ret), fmt.Sprintf("%d (%#x)", b.Ret, b.Ret)
		case !bytes.Equal(a.Packet, b.Packet):
			d.What, d.WantValue, d.GotValue = "packet", bytesDiff(a.Packet, b.Packet), bytesDiff(b.Packet, a.Packet)
		case !bytes.Equal(a.Memory, b.Memory):
			d.What, d.WantValue, d.GotValue = "memory", bytesDiff(a.Memory, b.Memory), bytesDiff(b.Memory, a.Memory)
		case a.TC != nil && b.TC != nil && tcFields(a, b.Engine) != tcFields(b, a.Engine):
			d.What, d.WantValue, d.GotValue = "context", fmt.Sprintf("%+v", tcFields(a, b.Engine)), fmt.Sprintf("%+v", tcFields(b, a.Engine))
		default:
			continue
		}
		r.add("outcomes", d)
	}
}

// tcFields is the part of o's tc context compared with other's: the
// ctx_out fields (CtxOut) when either is the kernel, else all of them.
func tcFields(o Outcome, other Engine) interp.TCMeta {
	if o.Engine == Kernel || other == Kernel {
		return CtxOut(*o.TC)
	}
	return *o.TC
}

// errClass is the engines' sentinel error err wraps, or nil: interp and
// jit must fail for the same cause.
func errClass(err error) error {
	for _, c := range []error{interp.ErrMemoryAccess, interp.ErrContext, interp.ErrBudgetExhausted, interp.ErrCallDepth,
		interp.ErrUnknownHelper, interp.ErrHelper, interp.ErrLoad} {
		if errors.Is(err, c) {
			return c
		}
	}
	return nil
}

// bytesDiff shows a with its first difference from b: the length and the
// bytes around the first differing offset.
func bytesDiff(a, b []byte) string {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	lo := max(0, n-8)
	hi := min(len(a), n+24)
	return fmt.Sprintf("%d bytes, first difference at %d: [%d:%d] % x", len(a), n, lo, hi, a[lo:hi])
}

// mapDump is one engine's view of a map: its entries (key -> value, both
// as byte strings; values of program arrays and other fd maps are "",
// presence only) and the records drained from a ring buffer or perf
// event array.
type mapDump struct {
	entries map[string]string
	records []string
	typ     prog.MapType
	max     uint32 // max entries
	// padded: the records are kernel perf samples, whose 0-7 bytes of
	// padding (perf.Record.RawSample) are not the program's.
	padded bool
}

// dumpMapper reads every entry of m (kernel or userspace). Queues and
// stacks are popped and pushed back in order; perf event arrays and ring
// buffers have no entries (their records are drained separately).
func dumpMapper(m prog.Mapper) (mapDump, error) {
	spec := m.MapSpec()
	d := mapDump{entries: map[string]string{}, typ: spec.Type, max: spec.MaxEntries}
	vsize := int(spec.ValueSize)
	if spec.Type.PerCPU() {
		cpus, _ := possibleCPUs()
		vsize = cpus * ((vsize + 7) &^ 7)
	}
	switch spec.Type {
	case prog.PerfEventArray, prog.RingBuf:
		return d, nil
	case prog.Queue, prog.Stack:
		var elems [][]byte
		for {
			v := make([]byte, vsize)
			if err := m.LookupAndDelete(nil, v); err != nil {
				if errors.Is(err, prog.ErrKeyNotExist) {
					break
				}
				return d, fmt.Errorf("pop: %w", err)
			}
			elems = append(elems, v)
		}
		for k, v := range elems {
			d.entries[fmt.Sprintf("%04d", k)] = string(v)
		}
		if spec.Type == prog.Stack {
			slices.Reverse(elems) // popped top first; push the bottom first
		}
		for _, v := range elems {
			if err := m.Update(nil, v, prog.UpdateAny); err != nil {
				return d, fmt.Errorf("push back: %w", err)
			}
		}
		return d, nil
	}
	presence := false
	switch spec.Type {
	case prog.ProgArray, prog.ArrayOfMaps, prog.HashOfMaps, prog.DevMap, prog.DevMapHash, prog.CPUMap,
		prog.XSKMap, prog.SockMap, prog.SockHash, prog.CgroupArray, prog.ReuseportSockArray:
		presence = true
	}
	var key []byte
	for n := 0; ; n++ {
		if n > int(spec.MaxEntries)+1 {
			return d, fmt.Errorf("iteration did not end after %d keys", n)
		}
		next := make([]byte, spec.KeySize)
		var k any
		if key != nil {
			k = key
		}
		if err := m.NextKey(k, next); err != nil {
			if errors.Is(err, prog.ErrKeyNotExist) {
				break
			}
			return d, fmt.Errorf("next key: %w", err)
		}
		key = next
		v := make([]byte, vsize)
		var err error
		if o, ok := m.(*maps.OfMaps); ok {
			// A userspace map of maps holds maps, not the IDs the
			// kernel's lookup writes: presence only, as for the kernel.
			_, err = o.Inner(next)
		} else {
			err = m.Lookup(next, v)
		}
		if err != nil {
			if errors.Is(err, prog.ErrKeyNotExist) {
				continue // an empty program array slot
			}
			return d, fmt.Errorf("lookup of key % x: %w", next, err)
		}
		if presence {
			v = nil
		}
		d.entries[string(next)] = string(v)
	}
	return d, nil
}

// compareMaps compares the reference engine's dump of map name with the
// others'.
func (r *Result) compareMaps(name string, engines []engineRunner, dumps []mapDump) {
	a := dumps[0]
	if a.typ == prog.RingBuf || a.typ == prog.PerfEventArray {
		if r.Records == nil {
			r.Records = map[string]int{}
		}
		r.Records[name] = len(a.records)
	}
	key := "map " + name
	for k := 1; k < len(dumps); k++ {
		b := dumps[k]
		d := Diff{Input: -1, Want: engines[0].engine(), Got: engines[k].engine()}
		keys := map[string]bool{}
		for kk := range a.entries {
			keys[kk] = true
		}
		for kk := range b.entries {
			keys[kk] = true
		}
		sorted := make([]string, 0, len(keys))
		for kk := range keys {
			sorted = append(sorted, kk)
		}
		slices.Sort(sorted)
		// Which entries a full LRU map evicted is the kernel's
		// approximation (per-CPU free lists, reference bits): once
		// either side is full only the keys both hold are compared.
		lruFull := (a.typ == prog.LRUHash || a.typ == prog.LRUPerCPUHash) &&
			(len(a.entries) >= int(a.max) || len(b.entries) >= int(b.max))
		for _, kk := range sorted {
			av, aok := a.entries[kk]
			bv, bok := b.entries[kk]
			if aok == bok && av == bv || lruFull && aok != bok {
				continue
			}
			d.What = fmt.Sprintf("map %q key %x", name, kk)
			if a.typ == prog.Queue || a.typ == prog.Stack {
				d.What = fmt.Sprintf("map %q element %s", name, kk)
			}
			d.WantValue, d.GotValue = entryText(av, aok), entryText(bv, bok)
			r.add(key, d)
		}
		if len(a.records) != len(b.records) {
			d.What = fmt.Sprintf("map %q records", name)
			d.WantValue, d.GotValue = fmt.Sprintf("%d records", len(a.records)), fmt.Sprintf("%d records", len(b.records))
			r.add(key, d)
		}
		for i := range min(len(a.records), len(b.records)) {
			ar, br := unpad(a.records[i], b.records[i], a.padded), unpad(b.records[i], a.records[i], b.padded)
			if ar == br {
				continue
			}
			d.What = fmt.Sprintf("map %q record %d", name, i)
			d.WantValue, d.GotValue = bytesDiff([]byte(ar), []byte(br)), bytesDiff([]byte(br), []byte(ar))
			r.add(key, d)
		}
	}
}

func entryText(v string, ok bool) string {
	switch {
	case !ok:
		return "absent"
	case v == "":
		return "present"
	}
	return fmt.Sprintf("% x", v)
}

// unpad cuts a kernel perf sample rec to the length of the userspace
// sample other when rec is as long as the kernel makes a sample of that
// length: the sample and 4 bytes of size rounded up to 8.
func unpad(rec, other string, padded bool) string {
	if padded && len(rec) > len(other) && len(rec) == (len(other)+4+7)&^7-4 {
		return rec[:len(other)]
	}
	return rec
}
