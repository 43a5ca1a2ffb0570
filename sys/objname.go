//go:build linux

package sys

// ObjName is a map or program name as the kernel stores it: a
// NUL-terminated string of at most ObjNameLen-1 (15) bytes in a
// BPF_OBJ_NAME_LEN array.
type ObjName [ObjNameLen]byte

// NewObjName converts name to an ObjName the kernel accepts. The kernel
// rejects names containing anything other than ASCII letters, digits, '_'
// and '.', so such bytes are dropped; the result is then truncated to 15
// bytes so the terminating NUL fits.
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
