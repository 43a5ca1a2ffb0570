//go:build linux

package sys

import "golang.org/x/sys/unix"

type unixPerfEventMmapPage = unix.PerfEventMmapPage
