package prog

import (
	"errors"
	"syscall"
	"testing"

	"github.com/purebpf/purebpf/insn"
)

func TestSpecValidate(t *testing.T) {
	counters := &MapSpec{Name: "counters", Type: Array, KeySize: 4, ValueSize: 8, MaxEntries: 4}
	good := &Spec{
		Name: "ok", Type: SocketFilter, License: "GPL",
		Instructions: insn.Instructions{
			insn.LoadMapPtr(insn.R1, "counters"),
			insn.Mov.Imm(insn.R0, 0),
			insn.Exit(),
		},
		Maps: []*MapSpec{counters},
	}
	if err := good.Validate(); err != nil {
		t.Fatalf("Validate(good) = %v", err)
	}
	if good.Map("counters") != counters || good.Map("missing") != nil {
		t.Fatal("Map lookup by name is wrong")
	}
	missing := *good
	missing.Maps = nil
	if err := missing.Validate(); !errors.Is(err, ErrInvalidSpec) {
		t.Fatalf("Validate(missing map) = %v, want ErrInvalidSpec", err)
	}
	dup := *good
	dup.Maps = []*MapSpec{counters, counters}
	if err := dup.Validate(); !errors.Is(err, ErrInvalidSpec) {
		t.Fatalf("Validate(duplicate map) = %v, want ErrInvalidSpec", err)
	}
	bad := *good
	bad.Instructions = insn.Instructions{insn.Ja("nowhere"), insn.Exit()}
	if err := bad.Validate(); !errors.Is(err, insn.ErrUnresolvedLabel) {
		t.Fatalf("Validate(bad label) = %v, want insn.ErrUnresolvedLabel", err)
	}
	var nilSpec *Spec
	if err := nilSpec.Validate(); !errors.Is(err, ErrInvalidSpec) {
		t.Fatalf("Validate(nil) = %v", err)
	}
}

func TestMapErrorMatchesErrno(t *testing.T) {
	if err := MapError(syscall.ENOENT); !errors.Is(err, ErrKeyNotExist) || !errors.Is(err, syscall.ENOENT) {
		t.Fatalf("MapError(ENOENT) = %v", err)
	}
	if err := MapError(syscall.EEXIST); !errors.Is(err, ErrKeyExist) || !errors.Is(err, syscall.EEXIST) {
		t.Fatalf("MapError(EEXIST) = %v", err)
	}
	if err := MapError(syscall.E2BIG); !errors.Is(err, syscall.E2BIG) || errors.Is(err, ErrKeyExist) {
		t.Fatalf("MapError(E2BIG) = %v", err)
	}
}

func TestTypeNames(t *testing.T) {
	if SocketFilter.String() != "socket_filter" || Hash.String() != "hash" || RingBuf != 27 || TracePoint != 5 {
		t.Fatalf("type tables are off: %s %s %d %d", SocketFilter, Hash, RingBuf, TracePoint)
	}
	if Type(999).String() != "bpf_prog_type(999)" {
		t.Fatalf("unknown type prints %q", Type(999))
	}
}
