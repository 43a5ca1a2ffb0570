package engine

import (
	"slices"
	"strconv"
	"syscall"

	"github.com/purebpf/purebpf/interp/maps"
)

// maxPrintkArgs is MAX_TRACE_PRINTK_VARARGS (kernel/trace/bpf_trace.c).
const maxPrintkArgs = 3

// helperTracePrintk is bpf_trace_printk(fmt, fmt_size, arg1, arg2, arg3):
// fmt must be NUL-terminated within fmt_size bytes, use at most three
// conversions among %d %i %u %x %X %c %s %p (with l/ll length modifiers,
// the flags 0 + - space and a width, as bpf_bprintf_prepare accepts in
// Linux 6.x), and contain only printable ASCII and white space; anything
// else is -EINVAL. It writes the formatted text to Options.TraceOutput and
// returns the number of bytes written. %s reads a NUL-terminated string
// from program memory or Options.KernelMemory (an unreadable string prints
// as empty, like strncpy_from_kernel_nofault failing); %p prints the
// value as 16 hex digits, as %px does (no pointer hashing in userspace).
func helperTracePrintk(e *Env, r1, r2, r3, r4, r5 uint64) (uint64, error) {
	size := int(uint32(r2))
	if size == 0 {
		return Errno(syscall.EINVAL), nil
	}
	f, err := e.Bytes(r1, size, false)
	if err != nil {
		return 0, err
	}
	if f[len(f)-1] != 0 {
		return Errno(syscall.EINVAL), nil
	}
	for k, c := range f {
		if c == 0 {
			f = f[:k]
			break
		}
	}
	out, ok := e.formatPrintk(e.printBuf[:0], f, [maxPrintkArgs]uint64{r3, r4, r5})
	e.printBuf = out[:0]
	if !ok {
		return Errno(syscall.EINVAL), nil
	}
	if w := e.vm.opts.TraceOutput; w != nil {
		n, _ := w.Write(out)
		return uint64(n), nil
	}
	return uint64(len(out)), nil
}

func isPrintable(c byte) bool {
	return c >= 0x20 && c < 0x7f || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// formatPrintk formats f with args into out; ok is false for a format the
// kernel rejects.
func (e *Env) formatPrintk(out, f []byte, args [maxPrintkArgs]uint64) ([]byte, bool) {
	nargs := 0
	for i := 0; i < len(f); i++ {
		c := f[i]
		if !isPrintable(c) {
			return out, false
		}
		if c != '%' {
			out = append(out, c)
			continue
		}
		i++
		if i < len(f) && f[i] == '%' {
			out = append(out, '%')
			continue
		}
		// Flags and width.
		var zero, left, plus, space bool
		for i < len(f) && (f[i] == '0' || f[i] == '+' || f[i] == '-' || f[i] == ' ') {
			switch f[i] {
			case '0':
				zero = true
			case '-':
				left = true
			case '+':
				plus = true
			case ' ':
				space = true
			}
			i++
		}
		width := 0
		for i < len(f) && f[i] >= '0' && f[i] <= '9' {
			width = width*10 + int(f[i]-'0')
			if width > 1000 {
				return out, false
			}
			i++
		}
		if i >= len(f) {
			return out, false
		}
		if nargs == maxPrintkArgs {
			return out, false
		}
		arg := args[nargs]
		nargs++
		var body []byte
		var scratch [24]byte
		neg := false
		switch f[i] {
		case 'c':
			body = append(scratch[:0], byte(arg))
		case 's':
			body = e.printkString(e.strBuf[:0], arg)
			e.strBuf = body[:0]
		case 'p':
			if i+1 < len(f) && isAlnum(f[i+1]) {
				// %pK %px %ps and friends: only %px and %pK are plain
				// pointers in userspace.
				if f[i+1] != 'x' && f[i+1] != 'K' {
					return out, false
				}
				i++
			}
			body = appendHex(scratch[:0], arg, 16, false)
		default:
			long := 0
			for i < len(f) && f[i] == 'l' && long < 2 {
				long++
				i++
			}
			if i >= len(f) {
				return out, false
			}
			v := arg
			switch f[i] {
			case 'd', 'i':
				s := int64(v)
				if long == 0 {
					s = int64(int32(v))
				}
				if s < 0 {
					neg = true
					body = strconv.AppendUint(scratch[:0], uint64(-s), 10)
				} else {
					body = strconv.AppendUint(scratch[:0], uint64(s), 10)
				}
			case 'u':
				if long == 0 {
					v = uint64(uint32(v))
				}
				body = strconv.AppendUint(scratch[:0], v, 10)
			case 'x', 'X':
				if long == 0 {
					v = uint64(uint32(v))
				}
				body = appendHex(scratch[:0], v, 0, f[i] == 'X')
			default:
				return out, false
			}
		}
		sign := ""
		switch {
		case neg:
			sign = "-"
		case plus && (f[i] == 'd' || f[i] == 'i'):
			sign = "+"
		case space && (f[i] == 'd' || f[i] == 'i'):
			sign = " "
		}
		pad := width - len(body) - len(sign)
		if !left && !zero {
			for ; pad > 0; pad-- {
				out = append(out, ' ')
			}
		}
		out = append(out, sign...)
		if !left && zero {
			for ; pad > 0; pad-- {
				out = append(out, '0')
			}
		}
		out = append(out, body...)
		for ; pad > 0; pad-- {
			out = append(out, ' ')
		}
	}
	return out, true
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func appendHex(b []byte, v uint64, digits int, upper bool) []byte {
	const lo, hi = "0123456789abcdef", "0123456789ABCDEF"
	tab := lo
	if upper {
		tab = hi
	}
	n := 1
	for x := v >> 4; x != 0; x >>= 4 {
		n++
	}
	for ; digits > n; digits-- {
		b = append(b, '0')
	}
	for k := n - 1; k >= 0; k-- {
		b = append(b, tab[(v>>(4*uint(k)))&15])
	}
	return b
}

// printkString reads the NUL-terminated string at addr (at most 1024
// bytes, the kernel's MAX_BPRINTF_BUF per argument is smaller still).
func (e *Env) printkString(b []byte, addr uint64) []byte {
	const max = 512
	var one [1]byte
	for k := uint64(0); k < max; k++ {
		c, err := e.find(addr+k, 1, false)
		if err != nil {
			if !readSim(e.vm.opts.KernelMemory, addr+k, one[:]) {
				return b[:0]
			}
			c = one[:]
		}
		if c[0] == 0 {
			return b
		}
		b = append(b, c[0])
	}
	return b
}

// BPF_F_* flags of perf_event_output (include/uapi/linux/bpf.h).
const (
	flagIndexMask  = 0xffffffff
	flagCurrentCPU = flagIndexMask
	flagCtxLenMask = 0xfffff << 32
)

// helperPerfEventOutput is bpf_perf_event_output(ctx, map, flags, data,
// size): flags holds the index (BPF_F_CURRENT_CPU means Options.CPU);
// socket filters may also ask for the first flags>>32 packet bytes to be
// appended (bpf_skb_event_output, BPF_F_CTXLEN_MASK).
func helperPerfEventOutput(e *Env, r1, r2, r3, r4, r5 uint64) (uint64, error) {
	m, err := e.Map(r2)
	if err != nil {
		return 0, err
	}
	pa, ok := m.(*maps.PerfEventArray)
	if !ok {
		return Errno(syscall.EINVAL), nil
	}
	allowed := uint64(flagIndexMask)
	if e.ctxKind == ctxSocketFilter || e.ctxKind == ctxXDP {
		allowed |= flagCtxLenMask
	}
	if r3&^allowed != 0 {
		return Errno(syscall.EINVAL), nil
	}
	data, err := e.Bytes(r4, int(uint32(r5)), false)
	if err != nil {
		return 0, err
	}
	if ctxLen := r3 >> 32; ctxLen > 0 && e.ctxKind == ctxXDP {
		// bpf_xdp_event_output copies from data, across fragments.
		x := &e.xdp
		if ctxLen > uint64(x.buffLen()) {
			return Errno(syscall.EFAULT), nil
		}
		n := len(data)
		e.outBuf = append(e.outBuf[:0], data...)
		e.outBuf = slices.Grow(e.outBuf, int(ctxLen))[:n+int(ctxLen)]
		x.copyBuf(0, e.outBuf[n:], false)
		data = e.outBuf
	} else if ctxLen > 0 {
		pkt := e.packet
		if ctxLen > uint64(len(pkt)) {
			return Errno(syscall.EFAULT), nil
		}
		e.outBuf = append(append(e.outBuf[:0], data...), pkt[:ctxLen]...)
		data = e.outBuf
	}
	idx := r3 & flagIndexMask
	cpu := int(idx)
	if idx == flagCurrentCPU {
		cpu = e.cpu()
	}
	if err := pa.Output(cpu, data); err != nil {
		return errnoOf(err), nil
	}
	return 0, nil
}
