module github.com/purebpf/purebpf/bench/peers

go 1.25.0

require (
	github.com/cilium/ebpf v0.22.0
	github.com/purebpf/purebpf v0.0.0
)

require golang.org/x/sys v0.43.0

replace github.com/purebpf/purebpf => ../..
