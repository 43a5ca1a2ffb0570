module github.com/purebpf/purebpf/bench/peers

go 1.24.0

require (
	github.com/cilium/ebpf v0.22.0
	github.com/purebpf/purebpf v0.0.0
)

replace github.com/purebpf/purebpf => ../..
