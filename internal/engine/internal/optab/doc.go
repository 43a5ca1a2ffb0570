// Package optab is the table of the engine's pre-decoded operations: one
// row per op with its name, its kind and the instruction encodings the
// decoder turns into it (Ops), and the properties of each kind that the
// program analyses use (Kinds). Generate writes the engine's ops_gen.go
// from it: the op constants and their names, the kind and analysis tables
// and the decoder's lookup table. Nothing in the engine lists the ops a
// second time, and nothing depends on the order of the rows.
//
// To regenerate after editing the table, run `go generate
// ./internal/engine` (engine's TestOpsGenerated fails while ops_gen.go is
// out of date).
//
// Package optab may import insn and the standard library.
package optab
