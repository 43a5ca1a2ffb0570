//go:build ignore

// genops writes ops_gen.go from the op table in internal/optab (go
// generate in this directory runs it).
package main

import (
	"log"
	"os"

	"github.com/purebpf/purebpf/internal/engine/internal/optab"
)

func main() {
	src, err := optab.Generate()
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile("ops_gen.go", src, 0o644); err != nil {
		log.Fatal(err)
	}
}
