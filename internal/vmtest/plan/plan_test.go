package plan

import (
	"errors"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	r := Result{Package: "example.com/p", Status: Fail, Exit: 1, Seconds: 2.5, Error: "boom"}
	got, err := ParseLine(FormatResult(r) + "\r\n")
	if err != nil {
		t.Fatal(err)
	}
	if gr, ok := got.(*Result); !ok || *gr != r {
		t.Fatalf("got %#v, want %#v", got, r)
	}
	d := Done{Passed: 3, Failed: 1}
	got, err = ParseLine(FormatDone(d))
	if err != nil {
		t.Fatal(err)
	}
	if gd, ok := got.(*Done); !ok || *gd != d {
		t.Fatalf("got %#v, want %#v", got, d)
	}
	got, err = ParseLine(ErrorPrefix + "mount /proc: EPERM")
	if err != nil || got != "mount /proc: EPERM" {
		t.Fatalf("got %#v, %v", got, err)
	}
}

func TestParseLineRejects(t *testing.T) {
	if _, err := ParseLine("  problem: no " + DonePrefix + "line"); !errors.Is(err, ErrNotPlanLine) {
		t.Errorf("prefix inside a line: got %v", err)
	}
	if _, err := ParseLine("=== RUN TestX"); !errors.Is(err, ErrNotPlanLine) {
		t.Errorf("plain line: got %v", err)
	}
	if _, err := ParseLine(ResultPrefix + "{not json"); err == nil || errors.Is(err, ErrNotPlanLine) {
		t.Errorf("bad json: got %v", err)
	}
}
