package prog

import "github.com/purebpf/purebpf/sys"

// PossibleCPUs returns the number of possible CPUs, read once from
// /sys/devices/system/cpu/possible (sys.PossibleCPUs). The kernel sizes
// per-CPU map values by this count (num_possible_cpus(), the weight of
// cpu_possible_mask), not by the CPUs online.
func PossibleCPUs() (int, error) { return sys.PossibleCPUs() }
