package plan

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Path is where the plan lives inside the initramfs.
const Path = "/vmtest/plan.json"

// Line prefixes printed by init, each at the start of a line, followed by
// one JSON object.
const (
	// ResultPrefix starts the line reporting one finished test binary.
	ResultPrefix = "VMTEST-RESULT "
	// DonePrefix starts the last line init prints before powering off.
	DonePrefix = "VMTEST-DONE "
	// ErrorPrefix starts a line reporting a setup failure inside the VM.
	ErrorPrefix = "VMTEST-ERROR "
	// BannerPrefix starts the first line init prints, once the file
	// systems are mounted; it tells the runner that the VM came up.
	BannerPrefix = "VMTEST-INIT "
)

// EnvInVM is set to "1" in the environment of every test binary run by
// init, so tests can tell they run inside the vmtest VM.
const EnvInVM = "PUREBPF_VMTEST"

// EnvKernel carries the kernel release the runner booted (the version part
// of the Debian package name, e.g. "6.1.0-56-cloud-amd64").
const EnvKernel = "PUREBPF_VMTEST_KERNEL"

// Test is one test binary to run inside the VM.
type Test struct {
	Package string   `json:"package"` // import path, for reporting
	Binary  string   `json:"binary"`  // absolute path inside the initramfs
	Dir     string   `json:"dir"`     // working directory (holds testdata)
	Args    []string `json:"args"`    // arguments, e.g. -test.v
}

// Plan is what init executes.
type Plan struct {
	Tests []Test `json:"tests"`
	// Env is added to the environment of every test binary.
	Env []string `json:"env"`
	// Modules are kernel module files (.ko or .ko.xz) init loads, in
	// order, before running the tests.
	Modules []string `json:"modules,omitempty"`
	// PerTestTimeout bounds each binary's run; init kills it afterwards.
	PerTestTimeout time.Duration `json:"per_test_timeout"`
}

// Status of one test binary.
type Status string

// Status values.
const (
	Pass Status = "pass"
	Fail Status = "fail"
	// Timeout means init killed the binary after PerTestTimeout.
	Timeout Status = "timeout"
)

// Result is the payload of a ResultPrefix line.
type Result struct {
	Package string  `json:"package"`
	Status  Status  `json:"status"`
	Exit    int     `json:"exit"`
	Seconds float64 `json:"seconds"`
	Error   string  `json:"error,omitempty"`
}

// Done is the payload of the DonePrefix line.
type Done struct {
	Passed int `json:"passed"`
	Failed int `json:"failed"`
}

// FormatResult renders r as a result line without the trailing newline.
func FormatResult(r Result) string { return ResultPrefix + mustJSON(r) }

// FormatDone renders d as a done line without the trailing newline.
func FormatDone(d Done) string { return DonePrefix + mustJSON(d) }

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		// Result and Done hold only strings and numbers.
		panic(err)
	}
	return string(b)
}

// ErrNotPlanLine is returned by ParseLine for lines that carry no
// vmtest record.
var ErrNotPlanLine = errors.New("plan: not a vmtest line")

// ParseLine decodes a console line. It returns a *Result, a *Done or a
// string (the text of an ErrorPrefix line). The prefix must start the line
// (init prints a newline before each record), so test output that merely
// mentions a prefix is not mistaken for a record. Carriage returns added
// by the serial line discipline are ignored.
func ParseLine(line string) (any, error) {
	line = strings.TrimRight(line, "\r\n")
	for _, p := range []string{ResultPrefix, DonePrefix, ErrorPrefix} {
		body, ok := strings.CutPrefix(line, p)
		if !ok {
			continue
		}
		switch p {
		case ResultPrefix:
			var r Result
			if err := json.Unmarshal([]byte(body), &r); err != nil {
				return nil, fmt.Errorf("plan: bad result line %q: %w", line, err)
			}
			return &r, nil
		case DonePrefix:
			var d Done
			if err := json.Unmarshal([]byte(body), &d); err != nil {
				return nil, fmt.Errorf("plan: bad done line %q: %w", line, err)
			}
			return &d, nil
		default:
			return body, nil
		}
	}
	return nil, ErrNotPlanLine
}
