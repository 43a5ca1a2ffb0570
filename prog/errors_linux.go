//go:build linux

package prog

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/sys"
	"golang.org/x/sys/unix"
)

// VerifierError is a program the kernel refused to load. It carries the
// verifier log, which the loader fetches by retrying the load with a log
// buffer after the first attempt (made without a log) failed.
//
// Error() names the program, the errno and the failing lines at the end of
// the log; Log holds the whole log.
type VerifierError struct {
	// Program is the program's name.
	Program string
	// Err is the cause: the *sys.Error of BPF_PROG_LOAD (matching its
	// errno with errors.Is), possibly wrapped with an explanation.
	Err error
	// Log is the complete verifier log, without the trailing NUL.
	Log string
	// Truncated is true when even the largest log buffer the kernel
	// accepts was too small, so Log lacks its beginning (Linux 6.4+
	// keeps the tail) or its end (older kernels).
	Truncated bool
	// MissingHelper is the helper the verifier did not know, or -1.
	MissingHelper insn.HelperFunc
}

// Error returns a one-line summary: program, cause and the verifier's
// final complaint with the instruction it was looking at.
func (e *VerifierError) Error() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "load program %q: %v", e.Program, e.Err)
	if msg, at := e.failure(); msg != "" {
		sb.WriteString(": verifier: ")
		sb.WriteString(msg)
		if at != "" {
			sb.WriteString(" (at ")
			sb.WriteString(at)
			sb.WriteString(")")
		}
	}
	if e.Truncated {
		sb.WriteString(" [log truncated]")
	}
	return sb.String()
}

// Unwrap returns the cause and, when a helper was missing,
// ErrNotSupported.
func (e *VerifierError) Unwrap() []error {
	if e.MissingHelper >= 0 {
		return []error{e.Err, ErrNotSupported}
	}
	return []error{e.Err}
}

// Lines returns the log split into lines, without empty trailing lines.
func (e *VerifierError) Lines() []string {
	return strings.Split(strings.TrimRight(e.Log, "\n\x00"), "\n")
}

var insnLine = regexp.MustCompile(`^\d+: \([0-9a-f]{2}\)`)

// failure picks the verifier's complaint (the last line that is not a
// statistic) and the last instruction line before it.
func (e *VerifierError) failure() (msg, at string) {
	lines := e.Lines()
	i := len(lines) - 1
	for ; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l == "" || isStatLine(l) {
			continue
		}
		msg = l
		break
	}
	for j := i - 1; j >= 0 && msg != ""; j-- {
		if insnLine.MatchString(lines[j]) {
			at = strings.TrimSpace(lines[j])
			break
		}
	}
	if insnLine.MatchString(msg) {
		at = ""
	}
	return msg, at
}

func isStatLine(l string) bool {
	for _, p := range []string{"processed ", "verification time ", "stack depth ", "max_states_per_insn ", "mark_precise", "last_idx", "parent didn't have regs"} {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	return false
}

// helperRe matches the verifier's complaints about helpers it does not
// know or does not offer to the program type (kernel/bpf/verifier.c,
// check_helper_call: "invalid func", "unknown func", and "program of this
// type cannot use helper" since Linux 5.1).
var helperRe = regexp.MustCompile(`(?:invalid func|unknown func|program of this type cannot use helper) [^#\s]*#(-?\d+)`)

// missingHelper returns the helper number a verifier log complains about,
// or -1.
//
// The log of a long program runs to megabytes, so the regular expression
// only reads the lines that contain one of its phrases, last first (the
// complaint ends the log); a regexp over the whole log took seconds.
func missingHelper(log string) insn.HelperFunc {
	end := len(log)
	for {
		at := -1
		for _, phrase := range helperPhrases {
			at = max(at, strings.LastIndex(log[:end], phrase))
		}
		if at < 0 {
			return -1
		}
		line := log[at:]
		if j := strings.IndexByte(line, '\n'); j >= 0 {
			line = line[:j]
		}
		if m := helperRe.FindStringSubmatch(line); m != nil {
			n, err := strconv.ParseInt(m[1], 10, 32)
			if err != nil {
				return -1
			}
			return insn.HelperFunc(n)
		}
		end = at
	}
}

// helperPhrases are the alternatives of helperRe.
var helperPhrases = []string{"invalid func", "unknown func", "program of this type cannot use helper"}

// explainErrno adds the likely cause to the errors of BPF_MAP_CREATE and
// BPF_PROG_LOAD whose errno alone says little.
func explainErrno(what string, err error, insns int) error {
	switch {
	case errors.Is(err, unix.EPERM):
		return fmt.Errorf("%s: %w: %s", what, err, permHint())
	case errors.Is(err, unix.E2BIG) && insns > 0:
		return fmt.Errorf("%s: %w: the program has %d instructions; the kernel takes at most %d from unprivileged users and verifies at most 1,000,000 for privileged ones (Linux 5.2+; 4096 before)", what, err, insns, sys.MaxInsns)
	case errors.Is(err, unix.E2BIG):
		return fmt.Errorf("%s: %w: an attribute is larger than this kernel understands, or a size or count is over its limit", what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// permHint explains an EPERM from bpf(2).
func permHint() string {
	var parts []string
	if os.Geteuid() != 0 {
		parts = append(parts, "this needs CAP_BPF (plus CAP_PERFMON for tracing, CAP_NET_ADMIN for networking programs) or CAP_SYS_ADMIN; run as root or grant the capabilities")
	} else {
		parts = append(parts, "running as root, so a security module (lockdown, SELinux) or a seccomp filter may forbid bpf(2)")
	}
	if memlockCharged() {
		parts = append(parts, "this kernel (before 5.11) charges BPF memory to RLIMIT_MEMLOCK"+memlockState())
	}
	if v, err := os.ReadFile("/proc/sys/kernel/unprivileged_bpf_disabled"); err == nil && os.Geteuid() != 0 {
		parts = append(parts, "kernel.unprivileged_bpf_disabled="+strings.TrimSpace(string(v)))
	}
	return strings.Join(parts, "; ")
}
