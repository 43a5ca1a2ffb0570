package sys

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
)

// ParseCPUList parses a kernel CPU list such as "0-3,8,10-11\n" (the
// format of /sys/devices/system/cpu/online and .../possible, see
// Documentation/admin-guide/cputopology.rst) into the CPU numbers it
// names, in order. Surrounding white space is ignored; an empty list, a
// reversed range or anything that is not a number is an error.
func ParseCPUList(s string) ([]int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, fmt.Errorf("CPU list %q is empty", s)
	}
	var cpus []int
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.ParseUint(lo, 10, 31)
		if err != nil {
			return nil, fmt.Errorf("CPU list %q: bad entry %q", s, part)
		}
		b := a
		if isRange {
			if b, err = strconv.ParseUint(hi, 10, 31); err != nil {
				return nil, fmt.Errorf("CPU list %q: bad entry %q", s, part)
			}
			if b < a {
				return nil, fmt.Errorf("CPU list %q: range %s is reversed", s, part)
			}
		}
		for c := a; c <= b; c++ {
			cpus = append(cpus, int(c))
		}
	}
	return cpus, nil
}

func readCPUList(file string) ([]int, error) {
	b, err := os.ReadFile("/sys/devices/system/cpu/" + file)
	if err != nil {
		return nil, err
	}
	return ParseCPUList(string(b))
}

var possibleCPUs = sync.OnceValues(func() (int, error) {
	cpus, err := readCPUList("possible")
	if err != nil {
		return 0, fmt.Errorf("possible CPUs: %w", err)
	}
	return len(cpus), nil
})

// PossibleCPUs returns the number of possible CPUs, read once from
// /sys/devices/system/cpu/possible. The kernel sizes per-CPU map values
// and the default perf event array by this count (num_possible_cpus(),
// the weight of cpu_possible_mask), not by the CPUs online.
func PossibleCPUs() (int, error) { return possibleCPUs() }

// OnlineCPUs returns the CPUs online now, from
// /sys/devices/system/cpu/online. It is read on every call, since CPUs go
// on and off line.
func OnlineCPUs() ([]int, error) {
	cpus, err := readCPUList("online")
	if err != nil {
		return nil, fmt.Errorf("online CPUs: %w", err)
	}
	return cpus, nil
}
