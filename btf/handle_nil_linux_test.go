//go:build linux

package btf

import (
	"errors"
	"os"
	"testing"
)

// TestNilHandle: a nil *Handle and a nil spec give errors wrapping
// os.ErrInvalid (nil, not closed), never a panic; Close is a no-op.
func TestNilHandle(t *testing.T) {
	var h *Handle
	if h.FD() != nil || h.Log() != "" {
		t.Fatal("nil handle has an fd or a log")
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Info(); !errors.Is(err, os.ErrInvalid) {
		t.Fatalf("Info: %v", err)
	}
	if _, err := h.Spec(nil); !errors.Is(err, os.ErrInvalid) {
		t.Fatalf("Spec: %v", err)
	}
	if _, err := NewHandle(nil, nil); !errors.Is(err, os.ErrInvalid) {
		t.Fatalf("NewHandle(nil): %v", err)
	}
}
