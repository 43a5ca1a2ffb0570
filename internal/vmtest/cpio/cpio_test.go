package cpio

import (
	"bytes"
	"errors"
	"strconv"
	"testing"
)

// entry is one decoded archive member. The decoder below follows the field
// table of the kernel's buffer-format.rst (13 fields of 8 hex digits after
// the 6-byte magic, name and data each padded to a multiple of 4).
type entry struct {
	fields [13]uint64
	name   string
	data   []byte
}

func decode(t *testing.T, b []byte) []entry {
	t.Helper()
	var out []entry
	off := 0
	for {
		if off+110 > len(b) {
			t.Fatalf("truncated header at %d", off)
		}
		if string(b[off:off+6]) != "070701" {
			t.Fatalf("bad magic %q at %d", b[off:off+6], off)
		}
		var e entry
		for i := range e.fields {
			v, err := strconv.ParseUint(string(b[off+6+8*i:off+14+8*i]), 16, 32)
			if err != nil {
				t.Fatalf("field %d at %d: %v", i, off, err)
			}
			e.fields[i] = v
		}
		namesize := int(e.fields[11])
		nameStart := off + 110
		if b[nameStart+namesize-1] != 0 {
			t.Fatalf("name at %d not NUL terminated", nameStart)
		}
		e.name = string(b[nameStart : nameStart+namesize-1])
		dataStart := nameStart + namesize
		for dataStart%4 != 0 {
			if b[dataStart] != 0 {
				t.Fatalf("non-zero name padding at %d", dataStart)
			}
			dataStart++
		}
		size := int(e.fields[6])
		e.data = b[dataStart : dataStart+size]
		off = dataStart + size
		for off%4 != 0 {
			if b[off] != 0 {
				t.Fatalf("non-zero data padding at %d", off)
			}
			off++
		}
		out = append(out, e)
		if e.name == "TRAILER!!!" {
			if off != len(b) {
				t.Fatalf("%d bytes after trailer", len(b)-off)
			}
			return out
		}
	}
}

func TestArchiveLayout(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	if err := w.AddDir("dev", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := w.AddCharDev("/dev/console", 0o600, 5, 1); err != nil {
		t.Fatal(err)
	}
	if err := w.AddFile("init", 0o755, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if err := w.AddSymlink("sbin", "/init"); err != nil {
		t.Fatal(err)
	}
	if err := w.AddFile("empty", 0o644, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if buf.Len()%4 != 0 {
		t.Fatalf("archive length %d not a multiple of 4", buf.Len())
	}
	es := decode(t, buf.Bytes())
	want := []struct {
		name         string
		mode         uint64
		data         string
		rmaj, rmin   uint64
		nlink        uint64
		uniqueInodes bool
	}{
		{"dev", 0o040755, "", 0, 0, 2, true},
		{"dev/console", 0o020600, "", 5, 1, 1, true},
		{"init", 0o100755, "hello", 0, 0, 1, true},
		{"sbin", 0o120777, "/init", 0, 0, 1, true},
		{"empty", 0o100644, "", 0, 0, 1, true},
		{"TRAILER!!!", 0, "", 0, 0, 1, false},
	}
	if len(es) != len(want) {
		t.Fatalf("got %d entries, want %d", len(es), len(want))
	}
	inos := map[uint64]bool{}
	for i, w := range want {
		e := es[i]
		if e.name != w.name || e.fields[1] != w.mode || string(e.data) != w.data ||
			e.fields[9] != w.rmaj || e.fields[10] != w.rmin || e.fields[4] != w.nlink {
			t.Errorf("entry %d = %q mode %o data %q rdev %d:%d nlink %d, want %+v",
				i, e.name, e.fields[1], e.data, e.fields[9], e.fields[10], e.fields[4], w)
		}
		if e.fields[12] != 0 {
			t.Errorf("entry %d: check field %d, want 0", i, e.fields[12])
		}
		if w.uniqueInodes {
			if inos[e.fields[0]] {
				t.Errorf("entry %d reuses inode %d", i, e.fields[0])
			}
			inos[e.fields[0]] = true
		}
	}
}

func TestWriterErrors(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	if err := w.AddFile("", 0o644, nil); !errors.Is(err, ErrName) {
		t.Errorf("empty name: got %v, want ErrName", err)
	}
	if err := w.AddFile("a\x00b", 0o644, nil); !errors.Is(err, ErrName) {
		t.Errorf("NUL in name: got %v, want ErrName", err)
	}
	if err := w.WriteHeader(&Header{Name: "f", Mode: TypeRegular, Size: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("toolong")); err == nil {
		t.Error("write past entry size succeeded")
	}
	if err := w.AddDir("d", 0o755); err == nil {
		t.Error("new entry before previous data was complete succeeded")
	}
	if _, err := w.Write([]byte("abc")); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteHeader(&Header{Name: "d", Mode: TypeDir, Size: 1}); err == nil {
		t.Error("directory with data accepted")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.AddDir("late", 0o755); !errors.Is(err, ErrClosed) {
		t.Errorf("write after close: got %v, want ErrClosed", err)
	}
	decode(t, buf.Bytes())
}
