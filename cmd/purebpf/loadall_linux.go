//go:build linux

package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/purebpf/purebpf/prog"
)

func init() {
	commands["loadall"] = command{usage: "loadall FILE.o DIR [pinmaps MAPDIR]   load every program of an object and pin each under its function name in the bpffs directory DIR, like 'bpftool prog loadall'", run: runLoadall}
}

// runLoadall implements "loadall FILE.o DIR [pinmaps MAPDIR]".
func runLoadall(args []string, stdout io.Writer) error {
	usage := errors.New("usage: purebpf loadall FILE.o DIR [pinmaps MAPDIR]")
	if len(args) != 2 && !(len(args) == 4 && args[2] == "pinmaps") {
		return usage
	}
	path, dir := args[0], args[1]
	mapDir := ""
	if len(args) == 4 {
		mapDir = args[3]
	}
	return loadall(path, dir, mapDir)
}

func loadall(path, dir, mapDir string) (err error) {
	spec, err := prog.LoadCollectionSpec(path)
	if err != nil {
		return err
	}
	coll, err := prog.NewCollection(spec, nil)
	if err != nil {
		return err
	}
	defer coll.Close()
	var pinned []string
	defer func() {
		if err != nil {
			for _, p := range pinned {
				os.Remove(p)
			}
		}
	}()
	for _, name := range spec.ProgramNames() {
		if coll.Programs[name] == nil {
			continue // "?" sections are not loaded, as with bpftool
		}
		p := filepath.Join(dir, name)
		if err := coll.Programs[name].Pin(p); err != nil {
			return fmt.Errorf("pin program: %w", err)
		}
		pinned = append(pinned, p)
	}
	if mapDir != "" {
		for _, name := range spec.MapNames() {
			p := filepath.Join(mapDir, name)
			if err := coll.Maps[name].Pin(p); err != nil {
				return fmt.Errorf("pin map: %w", err)
			}
			pinned = append(pinned, p)
		}
	}
	return nil
}
