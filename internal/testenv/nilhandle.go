package testenv

import (
	"reflect"
	"strings"
	"testing"
)

var errorType = reflect.TypeFor[error]()

// Reporter is the part of testing.TB that NilMethods uses.
type Reporter interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
}

var _ Reporter = (testing.TB)(nil)

// NilMethods calls every exported method of the nil pointer nilPtr (such
// as (*prog.Map)(nil)) with zero arguments and fails t if one panics, or
// if one that returns an error returns nil, unless its name is in noError
// (Close, which is a no-op on nil, and methods whose zero arguments are
// meant to succeed). The error must mention what is nil: one of the
// words of mustName, such as "nil". Methods added later are covered
// without changing the test.
func NilMethods(t Reporter, nilPtr any, mustName string, noError ...string) {
	t.Helper()
	v := reflect.ValueOf(nilPtr)
	if v.Kind() != reflect.Pointer || !v.IsNil() {
		t.Fatalf("NilMethods wants a nil pointer, got %T", nilPtr)
	}
	skip := map[string]bool{"Close": true}
	for _, n := range noError {
		skip[n] = true
	}
	typ := v.Type()
	for i := range typ.NumMethod() {
		m := typ.Method(i)
		args := []reflect.Value{v}
		for k := 1; k < m.Type.NumIn(); k++ {
			args = append(args, reflect.Zero(m.Type.In(k)))
		}
		var out []reflect.Value
		panicked := func() (p any) {
			defer func() { p = recover() }()
			out = m.Func.Call(args)
			return nil
		}()
		if panicked != nil {
			t.Errorf("(%v).%s on nil: panic: %v", typ, m.Name, panicked)
			continue
		}
		for k, o := range out {
			if m.Type.Out(k) != errorType {
				continue
			}
			err, _ := o.Interface().(error)
			switch {
			case m.Name == "Close" && err != nil:
				t.Errorf("(%v).Close on nil = %v, want nil (a no-op)", typ, err)
			case skip[m.Name]:
			case err == nil:
				t.Errorf("(%v).%s on nil returned no error", typ, m.Name)
			case !containsFold(err.Error(), mustName):
				t.Errorf("(%v).%s on nil = %q, which does not say %q", typ, m.Name, err, mustName)
			}
		}
	}
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}
