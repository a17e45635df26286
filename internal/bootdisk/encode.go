package bootdisk

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// The XDR nvlist encoder: the inverse of DecodeXDR, as nvlist_pack with
// NV_ENCODE_XDR lays a list out (docs/platform/zfs-label.md §3), sizes
// included, so that a list decoded from a real label encodes back to the
// same bytes. For the simulator and tests: volctl never writes a real
// disk's labels.

// nvpairHeader is sizeof (nvpair_t) in illumos's native layout (sys/nvpair.h).
const nvpairHeader = 16

func nvAlign(n int64) int64 { return (n + 7) &^ 7 }

// EncodeXDR packs l with the 4-byte header (XDR, little-endian packer, as
// an x86 host writes it). It refuses what DecodeXDR would refuse: values
// whose Go type does not match the pair's Type, empty or repeated names,
// NULs in strings, and anything past the decoder's bounds.
func EncodeXDR(l *Nvlist) ([]byte, error) {
	e := &xdrEnc{b: []byte{encodeXDR, 1, 0, 0}}
	if err := e.nvlist(l, 0); err != nil {
		return nil, err
	}
	return e.b, nil
}

type xdrEnc struct {
	b     []byte
	pairs int
}

func (e *xdrEnc) u32(v uint32) { e.b = binary.BigEndian.AppendUint32(e.b, v) }
func (e *xdrEnc) u64(v uint64) { e.b = binary.BigEndian.AppendUint64(e.b, v) }

func (e *xdrEnc) str(s string) error {
	if len(s) > MaxString || strings.IndexByte(s, 0) >= 0 {
		return fmt.Errorf("%w: cannot encode string %.40q (NUL, or over %d bytes)", ErrNvlist, s, MaxString)
	}
	e.u32(uint32(len(s)))
	e.b = append(e.b, s...)
	for i := len(s); i%4 != 0; i++ {
		e.b = append(e.b, 0)
	}
	return nil
}

func (e *xdrEnc) nvlist(l *Nvlist, depth int) error {
	if l == nil {
		return fmt.Errorf("%w: nil nvlist", ErrNvlist)
	}
	if depth > MaxDepth {
		return fmt.Errorf("%w: nvlists nested deeper than %d", ErrNvlist, MaxDepth)
	}
	e.u32(uint32(l.Version))
	e.u32(l.Flags)
	seen := map[string]bool{}
	for _, p := range l.Pairs {
		if p.Name == "" || seen[p.Name] {
			return fmt.Errorf("%w: empty or repeated name %q", ErrNvlist, p.Name)
		}
		seen[p.Name] = true
		if e.pairs++; e.pairs > MaxPairs {
			return fmt.Errorf("%w: more than %d pairs", ErrNvlist, MaxPairs)
		}
		start := len(e.b)
		e.u32(0) // encode size, set below
		e.u32(0) // decode size, set below
		native, err := e.pair(p, depth)
		if err != nil {
			return err
		}
		binary.BigEndian.PutUint32(e.b[start:], uint32(len(e.b)-start))
		binary.BigEndian.PutUint32(e.b[start+4:], uint32(nvAlign(nvpairHeader+int64(len(p.Name))+1)+nvAlign(native)))
	}
	e.u32(0)
	e.u32(0)
	return nil
}

// pair writes name, type, nelem and value, and returns the value's native
// size (i_get_value_size in nvpair.c), which the decode size is made of.
func (e *xdrEnc) pair(p Pair, depth int) (int64, error) {
	bad := func() (int64, error) {
		return 0, fmt.Errorf("%w: pair %q: %s with a Go value of type %T", ErrNvlist, p.Name, p.Type, p.Value)
	}
	if err := e.str(p.Name); err != nil {
		return 0, err
	}
	e.u32(uint32(p.Type))
	nelem := func(n int) error {
		if n > MaxElems {
			return fmt.Errorf("%w: pair %q: %d elements (at most %d)", ErrNvlist, p.Name, n, MaxElems)
		}
		e.u32(uint32(n))
		return nil
	}
	switch p.Type {
	case TypeBoolean:
		if p.Value != nil {
			return bad()
		}
		e.u32(0)
		return 0, nil
	case TypeUint64:
		v, ok := p.Value.(uint64)
		if !ok {
			return bad()
		}
		e.u32(1)
		e.u64(v)
		return 8, nil
	case TypeInt64, TypeHrtime:
		v, ok := p.Value.(int64)
		if !ok {
			return bad()
		}
		e.u32(1)
		e.u64(uint64(v))
		return 8, nil
	case TypeString:
		v, ok := p.Value.(string)
		if !ok {
			return bad()
		}
		e.u32(1)
		return int64(len(v)) + 1, e.str(v)
	case TypeBooleanValue:
		v, ok := p.Value.(bool)
		if !ok {
			return bad()
		}
		e.u32(1)
		if v {
			e.u32(1)
		} else {
			e.u32(0)
		}
		return 4, nil
	case TypeUint32, TypeUint16, TypeUint8:
		v, ok := p.Value.(uint64)
		if !ok {
			return bad()
		}
		e.u32(1)
		e.u32(uint32(v))
		return map[Type]int64{TypeUint32: 4, TypeUint16: 2, TypeUint8: 1}[p.Type], nil
	case TypeInt32, TypeInt16, TypeInt8, TypeByte:
		v, ok := p.Value.(int64)
		if !ok {
			return bad()
		}
		e.u32(1)
		e.u32(uint32(int32(v)))
		return map[Type]int64{TypeInt32: 4, TypeInt16: 2, TypeInt8: 1, TypeByte: 1}[p.Type], nil
	case TypeNvlist:
		v, ok := p.Value.(*Nvlist)
		if !ok {
			return bad()
		}
		e.u32(1)
		return 24, e.nvlist(v, depth+1) // sizeof (nvlist_t)
	case TypeNvlistArray:
		v, ok := p.Value.([]*Nvlist)
		if !ok {
			return bad()
		}
		if err := nelem(len(v)); err != nil {
			return 0, err
		}
		for _, c := range v {
			if err := e.nvlist(c, depth+1); err != nil {
				return 0, err
			}
		}
		return int64(len(v)) * (8 + 24), nil
	case TypeUint64Array:
		v, ok := p.Value.([]uint64)
		if !ok {
			return bad()
		}
		if err := nelem(len(v)); err != nil {
			return 0, err
		}
		if len(v) > 0 {
			e.u32(uint32(len(v)))
			for _, x := range v {
				e.u64(x)
			}
		}
		return 8 * int64(len(v)), nil
	case TypeStringArray:
		v, ok := p.Value.([]string)
		if !ok {
			return bad()
		}
		if err := nelem(len(v)); err != nil {
			return 0, err
		}
		n := 8 * int64(len(v))
		for _, s := range v {
			if err := e.str(s); err != nil {
				return 0, err
			}
			n += int64(len(s)) + 1
		}
		return n, nil
	case TypeByteArray:
		v, ok := p.Value.([]byte)
		if !ok {
			return bad()
		}
		if err := nelem(len(v)); err != nil {
			return 0, err
		}
		e.b = append(e.b, v...)
		for i := len(v); i%4 != 0; i++ {
			e.b = append(e.b, 0)
		}
		return int64(len(v)), nil
	}
	// The other arrays are not written by ZFS into labels.
	return 0, fmt.Errorf("%w: pair %q: encoding %s is not supported", ErrNvlist, p.Name, p.Type)
}
