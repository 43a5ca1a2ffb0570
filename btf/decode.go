package btf

// typeLocked returns the decoded type id (firstID <= id < NextID),
// decoding it and everything it reaches on first use. s.mu is held.
func (s *Spec) typeLocked(id TypeID) Type {
	if s.types == nil {
		s.types = make([]Type, len(s.offsets))
	}
	if t := s.types[id-s.firstID]; t != nil {
		return t
	}
	if s.ids == nil {
		s.ids = make(map[Type]TypeID)
	}
	var pending []TypeID
	t := s.shell(id, &pending)
	for len(pending) > 0 {
		next := pending[len(pending)-1]
		pending = pending[:len(pending)-1]
		s.fill(next, &pending)
	}
	return t
}

// ref returns the type for a reference, creating an undecoded shell for a
// type of s that is new.
func (s *Spec) ref(id TypeID, pending *[]TypeID) Type {
	if id == 0 {
		return voidType
	}
	if id < s.firstID {
		t, _ := s.base.TypeByID(id)
		return t
	}
	if t := s.types[id-s.firstID]; t != nil {
		return t
	}
	return s.shell(id, pending)
}

// shell creates the Go value of type id with its scalar fields set and
// queues it for fill, which sets its references.
func (s *Spec) shell(id TypeID, pending *[]TypeID) Type {
	off := s.offsets[id-s.firstID]
	nameOff, info, size := s.u32(off), s.u32(off+4), s.u32(off+8)
	kind, vlen, kflag := Kind(info>>24&0x1f), info&0xffff, info>>31 == 1
	name := s.name(nameOff)
	p := off + typeHeadLen
	var t Type
	switch kind {
	case KindInt:
		v := s.u32(p)
		t = &Int{Name: name, Size: size, Encoding: IntEncoding(v >> 24 & 0xf), Offset: uint8(v >> 16), Bits: uint8(v)}
	case KindPointer:
		t = &Pointer{}
	case KindArray:
		t = &Array{Nelems: s.u32(p + 8)}
	case KindStruct, KindUnion:
		ms := make([]Member, vlen)
		for i := range ms {
			m := p + 12*uint32(i)
			ms[i].Name = s.name(s.u32(m))
			o := s.u32(m + 8)
			if kflag {
				ms[i].Offset, ms[i].BitfieldSize = o&0xffffff, o>>24
			} else {
				ms[i].Offset = o
			}
		}
		if kind == KindStruct {
			t = &Struct{Name: name, Size: size, Members: ms}
		} else {
			t = &Union{Name: name, Size: size, Members: ms}
		}
	case KindEnum:
		vs := make([]EnumValue, vlen)
		for i := range vs {
			e := p + 8*uint32(i)
			v := s.u32(e + 4)
			vs[i] = EnumValue{Name: s.name(s.u32(e)), Value: uint64(v)}
			if kflag {
				vs[i].Value = uint64(int64(int32(v)))
			}
		}
		t = &Enum{Name: name, Size: size, Signed: kflag, Values: vs}
	case KindEnum64:
		vs := make([]EnumValue, vlen)
		for i := range vs {
			e := p + 12*uint32(i)
			vs[i] = EnumValue{Name: s.name(s.u32(e)), Value: uint64(s.u32(e+4)) | uint64(s.u32(e+8))<<32}
		}
		t = &Enum{Name: name, Size: size, Signed: kflag, Is64: true, Values: vs}
	case KindFwd:
		t = &Fwd{Name: name, Union: kflag}
	case KindTypedef:
		t = &Typedef{Name: name}
	case KindVolatile:
		t = &Volatile{}
	case KindConst:
		t = &Const{}
	case KindRestrict:
		t = &Restrict{}
	case KindTypeTag:
		t = &TypeTag{Value: name, Attribute: kflag}
	case KindFunc:
		t = &Func{Name: name, Linkage: FuncLinkage(vlen)}
	case KindFuncProto:
		ps := make([]FuncParam, vlen)
		for i := range ps {
			ps[i].Name = s.name(s.u32(p + 8*uint32(i)))
		}
		t = &FuncProto{Params: ps}
	case KindVar:
		t = &Var{Name: name, Linkage: VarLinkage(s.u32(p))}
	case KindDatasec:
		vs := make([]VarSecinfo, vlen)
		for i := range vs {
			v := p + 12*uint32(i)
			vs[i].Offset, vs[i].Size = s.u32(v+4), s.u32(v+8)
		}
		t = &Datasec{Name: name, Size: size, Vars: vs}
	case KindFloat:
		t = &Float{Name: name, Size: size}
	case KindDeclTag:
		t = &DeclTag{Value: name, Index: int32(s.u32(p)), Attribute: kflag}
	}
	s.types[id-s.firstID] = t
	s.ids[t] = id
	*pending = append(*pending, id)
	return t
}

// fill sets the references of the shell of type id.
func (s *Spec) fill(id TypeID, pending *[]TypeID) {
	off := s.offsets[id-s.firstID]
	sizeType := TypeID(s.u32(off + 8))
	p := off + typeHeadLen
	switch t := s.types[id-s.firstID].(type) {
	case *Array:
		t.Type = s.ref(TypeID(s.u32(p)), pending)
		t.Index = s.ref(TypeID(s.u32(p+4)), pending)
	case *Struct:
		s.fillMembers(t.Members, p, pending)
	case *Union:
		s.fillMembers(t.Members, p, pending)
	case *FuncProto:
		t.Return = s.ref(sizeType, pending)
		for i := range t.Params {
			t.Params[i].Type = s.ref(TypeID(s.u32(p+8*uint32(i)+4)), pending)
		}
	case *Datasec:
		for i := range t.Vars {
			t.Vars[i].Type = s.ref(TypeID(s.u32(p+12*uint32(i))), pending)
		}
	default:
		// The kinds with one reference, in the size/type field.
		t.children(func(ref *Type) bool {
			*ref = s.ref(sizeType, pending)
			return false
		})
	}
}

func (s *Spec) fillMembers(ms []Member, p uint32, pending *[]TypeID) {
	for i := range ms {
		ms[i].Type = s.ref(TypeID(s.u32(p+12*uint32(i)+4)), pending)
	}
}
