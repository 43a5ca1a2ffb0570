//go:build amd64 && unix

package bpftest

// haveJIT says whether package jit compiles programs here (amd64 Unix
// systems); elsewhere its New fails with ErrNotSupported.
const haveJIT = true
