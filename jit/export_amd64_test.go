//go:build amd64 && unix

package jit

// For the external tests (package jit_test), which compare the engines
// with the kernel through package bpftest, which imports jit.
var (
	XDPOpsFrames = xdpFrames
	GenALU       = genALU
)
