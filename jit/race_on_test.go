//go:build race

package jit

// raceEnabled says that the tests run under the race detector, which
// slows Go code (interp, helpers) down several times.
const raceEnabled = true
