//go:build !(amd64 && unix)

package jit
