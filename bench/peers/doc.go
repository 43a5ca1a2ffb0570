// Package peers holds side-by-side benchmarks of purebpf against
// github.com/cilium/ebpf. It is its own module, so that the library never
// depends on cilium.
package peers
