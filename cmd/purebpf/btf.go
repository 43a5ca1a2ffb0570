package main

import (
	"errors"
	"io"

	"github.com/purebpf/purebpf/btf"
)

func init() {
	commands["btf"] = command{usage: "btf dump FILE   print FILE's BTF types like 'bpftool btf dump file FILE'", run: runBTF}
}

// runBTF implements "btf dump FILE": FILE is an ELF object, a raw BTF
// blob, /sys/kernel/btf/vmlinux or a module's /sys/kernel/btf/<module>
// (dumped on top of vmlinux, as bpftool does).
func runBTF(args []string, stdout io.Writer) error {
	if len(args) != 2 || args[0] != "dump" {
		return errors.New("usage: purebpf btf dump FILE")
	}
	spec, err := btf.LoadSpec(args[1])
	if err != nil {
		return err
	}
	return spec.DumpRaw(stdout)
}
