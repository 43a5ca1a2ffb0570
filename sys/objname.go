package sys

import "fmt"

// ObjName is a map or program name as the kernel stores it: a
// NUL-terminated string of at most ObjNameLen-1 (15) bytes in a
// BPF_OBJ_NAME_LEN array.
type ObjName [ObjNameLen]byte

// NewObjName converts name to an ObjName the kernel accepts. The kernel
// rejects names containing anything other than ASCII letters, digits, '_'
// and '.' (bpf_obj_name_cpy, kernel/bpf/syscall.c), so such bytes are
// dropped; the result is then truncated to 15 bytes so the terminating NUL
// fits. Callers that must not rewrite a name silently check it with
// CheckObjName first.
func NewObjName(name string) ObjName {
	var n ObjName
	j := 0
	for i := 0; i < len(name) && j < ObjNameLen-1; i++ {
		if c := name[i]; validObjNameByte(c) {
			n[j] = c
			j++
		}
	}
	return n
}

// CheckObjName returns an error naming the first byte of name that the
// kernel does not accept in a map or program name: anything other than an
// ASCII letter, digit, '_' or '.'. Length is not checked: names longer
// than ObjNameLen-1 (15) bytes are truncated, as libbpf does.
func CheckObjName(name string) error {
	for i := 0; i < len(name); i++ {
		if !validObjNameByte(name[i]) {
			r := []rune(name[i:])[0]
			return fmt.Errorf("name %q: %q at byte %d is not allowed: the kernel takes only ASCII letters, digits, '_' and '.'", name, r, i)
		}
	}
	return nil
}

func validObjNameByte(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	case c == '_' || c == '.':
		return true
	}
	return false
}

// String returns the name up to its first NUL byte.
func (n ObjName) String() string {
	for i, c := range n {
		if c == 0 {
			return string(n[:i])
		}
	}
	return string(n[:])
}
