package prog

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/purebpf/purebpf/btf"
)

// ParseKconfig reads a kernel configuration as /proc/config.gz (after
// decompression) and /boot/config-* hold it: "CONFIG_X=value" lines, and
// "# CONFIG_X is not set" for n. Values keep their quotes.
func ParseKconfig(r io.Reader) (map[string]string, error) {
	cfg := map[string]string{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if name, ok := strings.CutPrefix(line, "# "); ok {
			if n, ok := strings.CutSuffix(name, " is not set"); ok && strings.HasPrefix(n, "CONFIG_") {
				cfg[n] = "n"
			}
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok || !strings.HasPrefix(name, "CONFIG_") {
			continue
		}
		cfg[name] = value
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read kernel config: %w", err)
	}
	return cfg, nil
}

// parseKconfigMaybeGzip parses b, gunzipping it first if it is gzip.
func parseKconfigMaybeGzip(b []byte) (map[string]string, error) {
	if len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b {
		z, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("read kernel config: %w", err)
		}
		defer z.Close()
		return ParseKconfig(z)
	}
	return ParseKconfig(bytes.NewReader(b))
}

// kconfigValue encodes a configuration value for an extern of type t
// into out (len(out) is the type's size), as libbpf does: bool takes y/n,
// enum libbpf_tristate takes y/n/m (1/0/2), char takes the letter, char
// arrays take quoted strings (truncated, NUL-terminated), integers take
// numbers.
func kconfigValue(name, value string, t btf.Type, out []byte) error {
	ut, err := btf.UnderlyingType(t)
	if err != nil {
		return err
	}
	bad := func() error {
		return fmt.Errorf("kconfig extern %q: value %q does not fit its type (%v, %d bytes)", name, value, ut.Kind(), len(out))
	}
	tri := func() (uint64, bool) {
		switch value {
		case "y":
			return 1, true
		case "n":
			return 0, true
		case "m":
			return 2, true
		}
		return 0, false
	}
	switch ut := ut.(type) {
	case *btf.Int:
		if ut.Encoding == btf.Bool {
			v, ok := tri()
			if !ok || v == 2 {
				return bad()
			}
			out[0] = byte(v)
			return nil
		}
		if ut.Encoding == btf.Char && len(out) == 1 {
			if len(value) != 1 {
				return bad()
			}
			out[0] = value[0]
			return nil
		}
		if value == "y" || value == "n" || value == "m" {
			return bad()
		}
		var v uint64
		if ut.Encoding == btf.Signed {
			s, err := strconv.ParseInt(value, 0, 64)
			if err != nil {
				return bad()
			}
			if len(out) < 8 && (s < -(1<<(8*len(out)-1)) || s >= 1<<(8*len(out)-1)) {
				return bad()
			}
			v = uint64(s)
		} else {
			u, err := strconv.ParseUint(value, 0, 64)
			if err != nil {
				return bad()
			}
			if len(out) < 8 && u >= 1<<(8*len(out)) {
				return bad()
			}
			v = u
		}
		var buf [8]byte
		binary.LittleEndian.PutUint64(buf[:], v)
		copy(out, buf[:len(out)])
		return nil
	case *btf.Enum:
		v, ok := tri()
		if !ok {
			return bad()
		}
		var buf [8]byte
		binary.LittleEndian.PutUint64(buf[:], v)
		copy(out, buf[:len(out)])
		return nil
	case *btf.Array:
		if len(value) < 2 || value[0] != '"' || value[len(value)-1] != '"' {
			return bad()
		}
		s, err := strconv.Unquote(value)
		if err != nil {
			s = value[1 : len(value)-1]
		}
		n := copy(out[:len(out)-1], s)
		clear(out[n:])
		return nil
	}
	return bad()
}

// parseKallsyms reads /proc/kallsyms lines ("ffffffff814e63f0 T name
// [module]") and returns the addresses of the wanted symbols; a zero
// address (kptr_restrict hides them) counts as missing.
func parseKallsyms(r io.Reader, want map[string]bool) (map[string]uint64, error) {
	out := map[string]uint64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 1<<16)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 3 || !want[f[2]] {
			continue
		}
		addr, err := strconv.ParseUint(f[0], 16, 64)
		if err != nil || addr == 0 {
			continue
		}
		if _, dup := out[f[2]]; !dup {
			out[f[2]] = addr
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read kallsyms: %w", err)
	}
	return out, nil
}

// needsKernelConfig reports whether cs has CONFIG_* kconfig externs,
// whose values come from the kernel configuration.
func (cs *CollectionSpec) needsKernelConfig() bool {
	for _, e := range cs.Externs {
		if e.Kind == "kconfig" && strings.HasPrefix(e.Name, "CONFIG_") {
			return true
		}
	}
	return false
}

// KconfigData returns the value of cs's .kconfig map (nil when the
// object has no kconfig externs) for the kernel configuration cfg
// (CONFIG_* name to value as the config file writes it: y, n, m, a
// number or a quoted string) and the values a loader computes itself
// (special: LINUX_KERNEL_VERSION, LINUX_HAS_BPF_COOKIE, ...), which take
// precedence. Each extern is encoded for its type as libbpf does (bool,
// tristate, char, integers, char arrays); an extern neither map sets is
// zero when it is __weak and an error naming it otherwise.
func (cs *CollectionSpec) KconfigData(cfg, special map[string]string) ([]byte, error) {
	m := cs.Maps[".kconfig"]
	if m == nil {
		return nil, nil
	}
	data := make([]byte, len(m.Data))
	for _, e := range cs.Externs {
		if e.Kind != "kconfig" {
			continue
		}
		v, ok := special[e.Name]
		if !ok {
			v, ok = cfg[e.Name]
		}
		if !ok {
			if e.Weak {
				continue
			}
			return nil, fmt.Errorf("kconfig extern %q: the kernel configuration does not set it (declare it __weak to default to zero)", e.Name)
		}
		if err := kconfigValue(e.Name, v, e.valueType, data[e.Offset:e.Offset+e.Size]); err != nil {
			return nil, err
		}
	}
	return data, nil
}

// HostKernelConfig reads the running kernel's configuration, as libbpf
// finds it: /proc/config.gz (CONFIG_IKCONFIG_PROC), else
// /boot/config-$(uname -r).
func HostKernelConfig() (map[string]string, error) {
	b, err := os.ReadFile("/proc/config.gz")
	if err != nil {
		rel, rerr := os.ReadFile("/proc/sys/kernel/osrelease")
		if rerr != nil {
			return nil, fmt.Errorf("kernel config: neither /proc/config.gz (%v) nor the kernel release (%v) can be read", err, rerr)
		}
		path := "/boot/config-" + strings.TrimSpace(string(rel))
		var err2 error
		if b, err2 = os.ReadFile(path); err2 != nil {
			return nil, fmt.Errorf("kernel config for kconfig externs: neither /proc/config.gz (%v) nor %s (%v) can be read; set CollectionOptions.KernelConfig", err, path, err2)
		}
	}
	return parseKconfigMaybeGzip(b)
}

// HostKernelVersion returns the running kernel's LINUX_KERNEL_VERSION,
// KERNEL_VERSION(major, minor, patch) with the patch level capped at 255
// as the kernel's own macro caps it (Linux 4.14.256+), from
// /proc/sys/kernel/osrelease.
func HostKernelVersion() (uint32, error) {
	rel, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return 0, fmt.Errorf("kernel version: %w", err)
	}
	return ParseKernelRelease(strings.TrimSpace(string(rel)))
}

// ParseKernelRelease turns a kernel release ("6.18.0-1-amd64") into
// KERNEL_VERSION(6, 18, 0).
func ParseKernelRelease(rel string) (uint32, error) {
	var v [3]uint64
	rest := rel
	for k := range v {
		end := 0
		for end < len(rest) && rest[end] >= '0' && rest[end] <= '9' {
			end++
		}
		if end == 0 {
			if k == 2 {
				break // "6.1-rc1": no patch level
			}
			return 0, fmt.Errorf("kernel release %q: not MAJOR.MINOR[.PATCH]", rel)
		}
		v[k], _ = strconv.ParseUint(rest[:end], 10, 32)
		rest = rest[end:]
		if k < 2 {
			if !strings.HasPrefix(rest, ".") {
				if k == 1 {
					break
				}
				return 0, fmt.Errorf("kernel release %q: not MAJOR.MINOR[.PATCH]", rel)
			}
			rest = rest[1:]
		}
	}
	if v[0] > 255 || v[1] > 255 {
		return 0, fmt.Errorf("kernel release %q: version out of range", rel)
	}
	return uint32(v[0])<<16 | uint32(v[1])<<8 | uint32(min(v[2], 255)), nil
}
