module github.com/purebpf/purebpf

go 1.24.0

require (
	golang.org/x/arch v0.24.0
	golang.org/x/net v0.50.0
	golang.org/x/sys v0.41.0
)
