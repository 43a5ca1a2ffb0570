package sys

// FDer is anything that holds the file descriptor of a BPF object, such as
// a *prog.Program or a *prog.Map. Packages below prog (perf) and beside it
// (socket) take programs and maps as an FDer, so that they need nothing
// else from them. FD returns -1 for a closed (or nil) object.
type FDer interface {
	FD() int
}
