// Package amd64 encodes the x86-64 machine instructions that package jit
// emits: integer moves and arithmetic on 64-, 32-, 16- and 8-bit operands,
// shifts by an immediate or through CL, multiplication and division, sign
// and zero extension, byte swaps, loads and stores with base+displacement
// and base+index addressing, LOCK-prefixed read-modify-write instructions,
// conditional and indirect branches, and forward or backward labels that
// are patched when the code is finished.
//
// It knows the encoding rules that are easy to get wrong: a REX prefix for
// r8-r15 and for the byte registers SPL, BPL, SIL and DIL; RBP and R13 as a
// base need a displacement byte even when it is zero; RSP and R12 as a base
// need a SIB byte; writing a 32-bit register zero-extends into the 64-bit
// register.
//
// Package amd64 imports only the standard library. It is an encoder, not an
// assembler: it builds bytes in memory and does not execute anything.
package amd64
