package cpio

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// Magic is the six-byte magic number that starts every newc header.
const Magic = "070701"

// headerLen is the size of a newc header: the magic plus 13 fields of
// eight hexadecimal digits.
const headerLen = 6 + 13*8

// trailerName is the name of the entry that ends every archive.
const trailerName = "TRAILER!!!"

// File type bits of the mode field, as in stat(2).
const (
	TypeDir     = 0o040000
	TypeRegular = 0o100000
	TypeSymlink = 0o120000
	TypeChar    = 0o020000
	TypeBlock   = 0o060000
)

// ErrClosed is returned by a Writer after Close.
var ErrClosed = errors.New("cpio: writer closed")

// ErrName is wrapped by errors for entry names the format cannot hold.
var ErrName = errors.New("cpio: invalid entry name")

// Header describes one archive entry. Mode holds both the file type bits
// (TypeDir, TypeRegular, ...) and the permission bits.
type Header struct {
	Name  string // path inside the archive, without a leading "/"
	Mode  uint32 // file type and permission bits
	UID   uint32
	GID   uint32
	MTime uint32 // seconds since the epoch
	Size  int64  // length of the data that follows (file contents or link target)
	// RdevMajor and RdevMinor identify the device of a TypeChar or
	// TypeBlock node.
	RdevMajor, RdevMinor uint32
}

// Writer writes a newc archive to an underlying io.Writer. Entries are
// written with WriteHeader followed by exactly Size bytes of data.
type Writer struct {
	w       io.Writer
	ino     uint32
	pending int64 // data bytes still expected for the current entry
	pad     int64 // padding owed after the current entry's data
	closed  bool
}

// NewWriter returns a Writer that writes an archive to w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: w, ino: 1}
}

func pad4(n int64) int64 { return (4 - n%4) % 4 }

var zeros [4]byte

// WriteHeader starts a new entry. The previous entry must have received
// all of its data.
func (w *Writer) WriteHeader(h *Header) error {
	if w.closed {
		return ErrClosed
	}
	if err := w.finishEntry(); err != nil {
		return err
	}
	name := strings.TrimPrefix(h.Name, "/")
	if name == "" || strings.IndexByte(name, 0) >= 0 {
		return fmt.Errorf("%w: %q", ErrName, h.Name)
	}
	if h.Size < 0 || h.Size > 0xffffffff {
		return fmt.Errorf("cpio: entry %q: size %d does not fit the 32-bit newc size field", name, h.Size)
	}
	if h.Mode&0o170000 == TypeDir && h.Size != 0 {
		return fmt.Errorf("cpio: directory %q has non-zero size %d", name, h.Size)
	}
	return w.writeHeader(name, h, w.nextIno())
}

func (w *Writer) nextIno() uint32 {
	w.ino++
	return w.ino
}

func (w *Writer) writeHeader(name string, h *Header, ino uint32) error {
	nlink := uint32(1)
	if h.Mode&0o170000 == TypeDir {
		nlink = 2
	}
	fields := [13]uint32{
		ino, h.Mode, h.UID, h.GID, nlink, h.MTime, uint32(h.Size),
		0, 0, // devmajor, devminor of the file system holding the entry
		h.RdevMajor, h.RdevMinor,
		uint32(len(name) + 1), // namesize includes the trailing NUL
		0,                     // check: always 0 for newc
	}
	buf := make([]byte, 0, headerLen+len(name)+4)
	buf = append(buf, Magic...)
	for _, f := range fields {
		buf = fmt.Appendf(buf, "%08X", f)
	}
	buf = append(buf, name...)
	buf = append(buf, 0)
	buf = append(buf, zeros[:pad4(int64(len(buf)))]...)
	if _, err := w.w.Write(buf); err != nil {
		return err
	}
	w.pending = h.Size
	w.pad = pad4(h.Size)
	return nil
}

// Write writes data of the current entry. Writing more than the header's
// Size is an error.
func (w *Writer) Write(p []byte) (int, error) {
	if w.closed {
		return 0, ErrClosed
	}
	if int64(len(p)) > w.pending {
		return 0, fmt.Errorf("cpio: write of %d bytes exceeds the %d bytes left in the entry", len(p), w.pending)
	}
	n, err := w.w.Write(p)
	w.pending -= int64(n)
	return n, err
}

func (w *Writer) finishEntry() error {
	if w.pending != 0 {
		return fmt.Errorf("cpio: previous entry is missing %d bytes of data", w.pending)
	}
	if w.pad != 0 {
		if _, err := w.w.Write(zeros[:w.pad]); err != nil {
			return err
		}
		w.pad = 0
	}
	return nil
}

// AddFile writes a regular file entry with the given contents.
func (w *Writer) AddFile(name string, perm uint32, data []byte) error {
	if err := w.WriteHeader(&Header{Name: name, Mode: TypeRegular | perm&0o7777, Size: int64(len(data))}); err != nil {
		return err
	}
	_, err := w.Write(data)
	return err
}

// AddDir writes a directory entry.
func (w *Writer) AddDir(name string, perm uint32) error {
	return w.WriteHeader(&Header{Name: name, Mode: TypeDir | perm&0o7777})
}

// AddSymlink writes a symbolic link entry pointing at target.
func (w *Writer) AddSymlink(name, target string) error {
	if err := w.WriteHeader(&Header{Name: name, Mode: TypeSymlink | 0o777, Size: int64(len(target))}); err != nil {
		return err
	}
	_, err := io.WriteString(w, target)
	return err
}

// AddCharDev writes a character device node entry.
func (w *Writer) AddCharDev(name string, perm, major, minor uint32) error {
	return w.WriteHeader(&Header{Name: name, Mode: TypeChar | perm&0o7777, RdevMajor: major, RdevMinor: minor})
}

// Close finishes the last entry and writes the trailer. It does not close
// the underlying writer.
func (w *Writer) Close() error {
	if w.closed {
		return nil
	}
	if err := w.finishEntry(); err != nil {
		return err
	}
	if err := w.writeHeader(trailerName, &Header{}, 0); err != nil {
		return err
	}
	w.closed = true
	return nil
}
