//go:build !linux

package prog

// Program is a BPF program loaded into the kernel. No system but Linux
// loads BPF programs, so none can be made here; the type exists so that
// APIs that name it (link.Link's Update, perf's attach functions) build
// on every system.
type Program struct{}

// Close does nothing: no Program exists on this system.
func (p *Program) Close() error { return nil }
