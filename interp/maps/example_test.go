package maps_test

import (
	"errors"
	"fmt"

	"github.com/purebpf/purebpf/interp/maps"
	"github.com/purebpf/purebpf/prog"
)

// A userspace hash map used through prog.Mapper, as a kernel map would be.
func ExampleNew() {
	m, err := maps.New(prog.MapSpec{Name: "counts", Type: prog.Hash, KeySize: 4, ValueSize: 8, MaxEntries: 16}, nil)
	if err != nil {
		panic(err)
	}
	if err := m.Update(uint32(7), uint64(100), prog.UpdateNoExist); err != nil {
		panic(err)
	}
	err = m.Update(uint32(7), uint64(200), prog.UpdateNoExist)
	fmt.Println(errors.Is(err, prog.ErrKeyExist), err)

	var v uint64
	if err := m.Lookup(uint32(7), &v); err != nil {
		panic(err)
	}
	fmt.Println(v)
	// Output:
	// true map "counts": update: key already exists
	// 100
}

// Per-CPU maps take one value per CPU.
func ExampleNew_perCPU() {
	m, err := maps.New(prog.MapSpec{Type: prog.PerCPUArray, KeySize: 4, ValueSize: 4, MaxEntries: 1}, &maps.Options{CPUs: 2})
	if err != nil {
		panic(err)
	}
	// A program on CPU 1 writes its own copy.
	if err := m.UpdateRaw([]byte{0, 0, 0, 0}, []byte{5, 0, 0, 0}, prog.UpdateAny, 1); err != nil {
		panic(err)
	}
	values := make([]uint32, 2)
	if err := m.Lookup(uint32(0), values); err != nil {
		panic(err)
	}
	fmt.Println(values)
	// Output: [0 5]
}

// A ring buffer: a program reserves, fills and submits; a reader reads.
func ExampleRingBuf() {
	m, err := maps.New(prog.MapSpec{Type: prog.RingBuf, MaxEntries: 4096}, nil)
	if err != nil {
		panic(err)
	}
	rb := m.(*maps.RingBuf)
	rec, err := rb.Reserve(5)
	if err != nil {
		panic(err)
	}
	copy(rec, "hello")
	if err := rb.Submit(rec); err != nil {
		panic(err)
	}
	data, err := rb.Read()
	fmt.Printf("%s %v\n", data, err)
	_, err = rb.Read()
	fmt.Println(errors.Is(err, maps.ErrNoRecord))
	// Output:
	// hello <nil>
	// true
}
