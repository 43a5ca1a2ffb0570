package prog

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
)

var possibleCPUs struct {
	once sync.Once
	n    int
	err  error
}

// PossibleCPUs returns the number of possible CPUs, read once from
// /sys/devices/system/cpu/possible. The kernel sizes per-CPU map values by
// this count (num_possible_cpus(), the weight of cpu_possible_mask), not by
// the CPUs online.
func PossibleCPUs() (int, error) {
	possibleCPUs.once.Do(func() {
		b, err := os.ReadFile("/sys/devices/system/cpu/possible")
		if err != nil {
			possibleCPUs.err = fmt.Errorf("possible CPUs: %w", err)
			return
		}
		possibleCPUs.n, possibleCPUs.err = parseCPUList(strings.TrimSpace(string(b)))
	})
	return possibleCPUs.n, possibleCPUs.err
}

// parseCPUList counts the CPUs in a kernel CPU list such as "0-3,8,10-11".
func parseCPUList(s string) (int, error) {
	if s == "" {
		return 0, fmt.Errorf("possible CPUs: empty CPU list")
	}
	n := 0
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.ParseUint(lo, 10, 32)
		if err != nil {
			return 0, fmt.Errorf("possible CPUs: bad CPU list %q: %w", s, err)
		}
		b := a
		if isRange {
			if b, err = strconv.ParseUint(hi, 10, 32); err != nil {
				return 0, fmt.Errorf("possible CPUs: bad CPU list %q: %w", s, err)
			}
			if b < a {
				return 0, fmt.Errorf("possible CPUs: bad CPU list %q: range %s is reversed", s, part)
			}
		}
		n += int(b-a) + 1
	}
	return n, nil
}
