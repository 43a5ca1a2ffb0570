package sys

import (
	"os"
	"slices"
	"testing"

	"github.com/purebpf/purebpf/internal/testenv"
)

func TestParseCPUList(t *testing.T) {
	for in, want := range map[string][]int{
		"0": {0}, "0-1": {0, 1}, "0-3,8,10-11": {0, 1, 2, 3, 8, 10, 11}, "0,2": {0, 2},
		"0-2,4,6-7\n": {0, 1, 2, 4, 6, 7},
	} {
		if got, err := ParseCPUList(in); err != nil || !slices.Equal(got, want) {
			t.Errorf("ParseCPUList(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "\n", "a", "x", "3-1", "0-", "-1", "1,,2", "0-1-2"} {
		if got, err := ParseCPUList(bad); err == nil {
			t.Errorf("ParseCPUList(%q) = %v, want an error", bad, got)
		}
	}
}

func TestCPUs(t *testing.T) {
	if _, err := os.Stat("/sys/devices/system/cpu/possible"); err != nil {
		testenv.SkipOrFail(t, "no sysfs CPU lists: %v", err)
	}
	n, err := PossibleCPUs()
	if err != nil || n < 1 {
		t.Fatalf("PossibleCPUs() = %d, %v", n, err)
	}
	online, err := OnlineCPUs()
	if err != nil || len(online) < 1 || len(online) > n {
		t.Fatalf("OnlineCPUs() = %v, %v with %d possible", online, err, n)
	}
}
