package bootdisk

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// The XDR nvlist decoder: the encoding of a packed nvlist_t that ZFS
// writes into every vdev label (docs/platform/zfs-label.md §3). It decodes
// what illumos's nvs_xdr_* functions in usr/src/common/nvpair/nvpair.c
// encode, read-only and bounded: every length is checked against the bytes
// left before anything is allocated, and the depth, the number of pairs and
// the size of each string and array are capped, so a hostile or corrupt
// label gives an error, never a panic or a huge allocation.

// Type is an nvpair's data type (data_type_t in illumos sys/nvpair.h).
type Type int32

// The data types (sys/nvpair.h, data_type_t).
const (
	TypeBoolean      Type = 1 // a name with no value
	TypeByte         Type = 2
	TypeInt16        Type = 3
	TypeUint16       Type = 4
	TypeInt32        Type = 5
	TypeUint32       Type = 6
	TypeInt64        Type = 7
	TypeUint64       Type = 8
	TypeString       Type = 9
	TypeByteArray    Type = 10
	TypeInt16Array   Type = 11
	TypeUint16Array  Type = 12
	TypeInt32Array   Type = 13
	TypeUint32Array  Type = 14
	TypeInt64Array   Type = 15
	TypeUint64Array  Type = 16
	TypeStringArray  Type = 17
	TypeHrtime       Type = 18
	TypeNvlist       Type = 19
	TypeNvlistArray  Type = 20
	TypeBooleanValue Type = 21
	TypeInt8         Type = 22
	TypeUint8        Type = 23
	TypeBooleanArray Type = 24
	TypeInt8Array    Type = 25
	TypeUint8Array   Type = 26
)

var typeNames = map[Type]string{
	TypeBoolean: "boolean", TypeByte: "byte", TypeInt16: "int16", TypeUint16: "uint16",
	TypeInt32: "int32", TypeUint32: "uint32", TypeInt64: "int64", TypeUint64: "uint64",
	TypeString: "string", TypeByteArray: "byte[]", TypeInt16Array: "int16[]",
	TypeUint16Array: "uint16[]", TypeInt32Array: "int32[]", TypeUint32Array: "uint32[]",
	TypeInt64Array: "int64[]", TypeUint64Array: "uint64[]", TypeStringArray: "string[]",
	TypeHrtime: "hrtime", TypeNvlist: "nvlist", TypeNvlistArray: "nvlist[]",
	TypeBooleanValue: "boolean_value", TypeInt8: "int8", TypeUint8: "uint8",
	TypeBooleanArray: "boolean[]", TypeInt8Array: "int8[]", TypeUint8Array: "uint8[]",
}

func (t Type) String() string {
	if s, ok := typeNames[t]; ok {
		return s
	}
	return fmt.Sprintf("type(%d)", int32(t))
}

// Bounds of the decoder (docs/platform/zfs-label.md §3.4). A label's nvlist
// is at most 112 KiB, so these are far above what ZFS writes and far below
// what would hurt.
const (
	// MaxDepth is the deepest nesting of nvlists accepted (a pool config
	// is about five deep: config, vdev_tree, children, children, leaf).
	MaxDepth = 32
	// MaxPairs is the most pairs accepted in one packed nvlist, nested
	// lists included.
	MaxPairs = 1 << 14
	// MaxString is the longest string (or name) accepted, in bytes.
	MaxString = 1 << 14
	// MaxElems is the most elements accepted in one array.
	MaxElems = 1 << 14
)

// ErrNvlist is wrapped by every decoding error.
var ErrNvlist = errors.New("nvlist")

// Encoding bytes of the nvlist header (nvs_header_t, sys/nvpair.h
// NV_ENCODE_NATIVE/NV_ENCODE_XDR).
const (
	encodeNative = 0
	encodeXDR    = 1
)

// Nvlist is a decoded nvlist: its pairs in stream order.
type Nvlist struct {
	Version int32
	Flags   uint32
	Pairs   []Pair
}

// Pair is one decoded nvpair. Value holds, by Type: nil (boolean);
// bool (boolean_value); int64 (byte, int8..int64, hrtime); uint64
// (uint8..uint64); string; *Nvlist; []*Nvlist; []byte (byte[]); []int64
// (int8[]..int64[], boolean[]); []uint64 (uint8[]..uint64[]); []string.
type Pair struct {
	Name  string
	Type  Type
	Value any
}

// Lookup returns the pair named name.
func (l *Nvlist) Lookup(name string) (Pair, bool) {
	if l == nil {
		return Pair{}, false
	}
	for _, p := range l.Pairs {
		if p.Name == name {
			return p, true
		}
	}
	return Pair{}, false
}

// Uint64 returns the uint64 named name; ok is false when it is absent or
// of another type.
func (l *Nvlist) Uint64(name string) (uint64, bool) {
	p, ok := l.Lookup(name)
	if !ok || p.Type != TypeUint64 {
		return 0, false
	}
	return p.Value.(uint64), true
}

// Str returns the string named name.
func (l *Nvlist) Str(name string) (string, bool) {
	p, ok := l.Lookup(name)
	if !ok || p.Type != TypeString {
		return "", false
	}
	return p.Value.(string), true
}

// List returns the nvlist named name.
func (l *Nvlist) List(name string) (*Nvlist, bool) {
	p, ok := l.Lookup(name)
	if !ok || p.Type != TypeNvlist {
		return nil, false
	}
	return p.Value.(*Nvlist), true
}

// Lists returns the nvlist array named name.
func (l *Nvlist) Lists(name string) ([]*Nvlist, bool) {
	p, ok := l.Lookup(name)
	if !ok || p.Type != TypeNvlistArray {
		return nil, false
	}
	return p.Value.([]*Nvlist), true
}

// DecodeXDR decodes a packed nvlist: the 4-byte header (encoding, endian,
// two reserved bytes) then the XDR-encoded list. It returns the list and
// the number of bytes of b the packed list used (the rest of a label's
// nvlist area is padding).
func DecodeXDR(b []byte) (*Nvlist, int, error) {
	if len(b) < 4 {
		return nil, 0, fmt.Errorf("%w: %d bytes, shorter than the 4-byte header", ErrNvlist, len(b))
	}
	switch b[0] {
	case encodeXDR:
	case encodeNative:
		return nil, 0, fmt.Errorf("%w: native encoding (header byte 0 = 0); only XDR is read (ZFS labels are XDR)", ErrNvlist)
	default:
		return nil, 0, fmt.Errorf("%w: unknown encoding %d in the header", ErrNvlist, b[0])
	}
	// The endian byte says which byte order the packing host had; XDR is
	// big-endian whatever it says, so it is only checked for sanity.
	if b[1] > 1 {
		return nil, 0, fmt.Errorf("%w: endian byte %d is neither 0 nor 1", ErrNvlist, b[1])
	}
	d := &xdr{b: b, off: 4}
	l, err := d.nvlist(0)
	if err != nil {
		return nil, 0, err
	}
	return l, d.off, nil
}

// xdr is a bounded big-endian reader over b.
type xdr struct {
	b     []byte
	off   int
	pairs int
}

func (d *xdr) fail(format string, args ...any) error {
	return fmt.Errorf("%w: at byte %d: %s", ErrNvlist, d.off, fmt.Sprintf(format, args...))
}

func (d *xdr) left() int { return len(d.b) - d.off }

func (d *xdr) u32() (uint32, error) {
	if d.left() < 4 {
		return 0, d.fail("truncated: want 4 bytes, %d left", d.left())
	}
	v := binary.BigEndian.Uint32(d.b[d.off:])
	d.off += 4
	return v, nil
}

func (d *xdr) i32() (int32, error) {
	v, err := d.u32()
	return int32(v), err
}

func (d *xdr) u64() (uint64, error) {
	if d.left() < 8 {
		return 0, d.fail("truncated: want 8 bytes, %d left", d.left())
	}
	v := binary.BigEndian.Uint64(d.b[d.off:])
	d.off += 8
	return v, nil
}

// opaque reads n bytes and the padding to the next multiple of 4.
func (d *xdr) opaque(n uint32) ([]byte, error) {
	padded := (uint64(n) + 3) &^ 3
	if padded > uint64(d.left()) {
		return nil, d.fail("truncated: want %d bytes, %d left", padded, d.left())
	}
	v := d.b[d.off : d.off+int(n)]
	d.off += int(padded)
	return v, nil
}

// str reads an XDR string (length, bytes, padding). A NUL inside would be
// read by C as a shorter string than the bytes say: refused. what names
// the string in an error; it is called only then (formatting it for every
// element of a long string array would cost quadratic time).
func (d *xdr) str(what func() string) (string, error) {
	n, err := d.u32()
	if err != nil {
		return "", err
	}
	if n > MaxString {
		return "", d.fail("%s of %d bytes (at most %d)", what(), n, MaxString)
	}
	v, err := d.opaque(n)
	if err != nil {
		return "", err
	}
	if i := bytes.IndexByte(v, 0); i >= 0 {
		return "", d.fail("%s has a NUL at byte %d of %d", what(), i, n)
	}
	return string(v), nil
}

func named(s string) func() string { return func() string { return s } }

// nvlist reads nvl_version, nvl_nvflag, the pairs and the end marker
// (nvs_xdr_nvlist, nvs_operation, nvs_xdr_nvl_fini).
func (d *xdr) nvlist(depth int) (*Nvlist, error) {
	if depth > MaxDepth {
		return nil, d.fail("nvlists nested deeper than %d", MaxDepth)
	}
	ver, err := d.i32()
	if err != nil {
		return nil, err
	}
	flags, err := d.u32()
	if err != nil {
		return nil, err
	}
	l := &Nvlist{Version: ver, Flags: flags}
	seen := map[string]bool{}
	for {
		// encode_size, decode_size (nvs_xdr_nvpair). Two zeros end the
		// list; illumos reads only decode_size for that, and so does this.
		// Neither size is used to decode (illumos decodes by structure
		// and so does this): only their sign is checked.
		enc, err := d.i32()
		if err != nil {
			return nil, err
		}
		dec, err := d.i32()
		if err != nil {
			return nil, err
		}
		if dec == 0 {
			if enc != 0 {
				return nil, d.fail("end of list with encoded size %d (want 0)", enc)
			}
			return l, nil
		}
		if enc < 0 || dec < 0 {
			return nil, d.fail("negative pair size (encoded %d, decoded %d)", enc, dec)
		}
		if d.pairs++; d.pairs > MaxPairs {
			return nil, d.fail("more than %d pairs", MaxPairs)
		}
		p, err := d.pair(depth)
		if err != nil {
			return nil, err
		}
		// ZFS packs its configs with NV_UNIQUE_NAME; a repeated name would
		// make "the" path or guid ambiguous, so it is refused whatever the
		// flags say.
		if seen[p.Name] {
			return nil, d.fail("name %q appears twice in one nvlist", p.Name)
		}
		seen[p.Name] = true
		l.Pairs = append(l.Pairs, p)
	}
}

// pair reads the name, type, nelem and value of one pair
// (nvs_xdr_nvp_op), its two sizes already read.
func (d *xdr) pair(depth int) (Pair, error) {
	name, err := d.str(named("name"))
	if err != nil {
		return Pair{}, err
	}
	if name == "" {
		return Pair{}, d.fail("empty pair name")
	}
	t, err := d.i32()
	if err != nil {
		return Pair{}, err
	}
	n32, err := d.i32()
	if err != nil {
		return Pair{}, err
	}
	p := Pair{Name: name, Type: Type(t)}
	if n32 < 0 {
		return p, d.fail("pair %q: negative nelem %d", name, n32)
	}
	nelem := uint32(n32)
	// i_get_value_size: scalars have exactly one element, boolean none.
	switch p.Type {
	case TypeBoolean:
		if nelem != 0 {
			return p, d.fail("pair %q: boolean with nelem %d", name, nelem)
		}
		return p, nil
	case TypeByte, TypeInt8, TypeUint8, TypeInt16, TypeUint16, TypeInt32, TypeUint32,
		TypeBooleanValue, TypeInt64, TypeUint64, TypeHrtime, TypeString, TypeNvlist:
		if nelem != 1 {
			return p, d.fail("pair %q: %s with nelem %d (want 1)", name, p.Type, nelem)
		}
	case TypeByteArray, TypeInt8Array, TypeUint8Array, TypeInt16Array, TypeUint16Array,
		TypeInt32Array, TypeUint32Array, TypeBooleanArray, TypeInt64Array, TypeUint64Array,
		TypeStringArray, TypeNvlistArray:
		if nelem > MaxElems {
			return p, d.fail("pair %q: %s of %d elements (at most %d)", name, p.Type, nelem, MaxElems)
		}
		// An empty array has no value at all, not even a count
		// (nvs_xdr_nvp_op: "if there is no data to extract then return").
		if nelem == 0 {
			p.Value = emptyArray(p.Type)
			return p, nil
		}
	default:
		return p, d.fail("pair %q: unknown data type %d", name, t)
	}
	p.Value, err = d.value(p, nelem, depth)
	return p, err
}

func emptyArray(t Type) any {
	switch t {
	case TypeByteArray:
		return []byte{}
	case TypeInt8Array, TypeInt16Array, TypeInt32Array, TypeInt64Array, TypeBooleanArray:
		return []int64{}
	case TypeUint8Array, TypeUint16Array, TypeUint32Array, TypeUint64Array:
		return []uint64{}
	case TypeStringArray:
		return []string{}
	default:
		return []*Nvlist{}
	}
}

func (d *xdr) value(p Pair, nelem uint32, depth int) (any, error) {
	switch p.Type {
	case TypeByte, TypeInt8, TypeInt16, TypeInt32:
		// xdr_char, xdr_short, xdr_int: one 4-byte unit each.
		v, err := d.i32()
		return int64(v), err
	case TypeUint8, TypeUint16, TypeUint32:
		v, err := d.u32()
		return uint64(v), err
	case TypeBooleanValue:
		v, err := d.i32()
		if err == nil && v != 0 && v != 1 {
			return nil, d.fail("pair %q: boolean_value %d", p.Name, v)
		}
		return v == 1, err
	case TypeInt64, TypeHrtime:
		v, err := d.u64()
		return int64(v), err
	case TypeUint64:
		return d.u64()
	case TypeString:
		return d.str(func() string { return fmt.Sprintf("string %.64q", p.Name) })
	case TypeNvlist:
		return d.nvlist(depth + 1)
	case TypeNvlistArray:
		// nvs_embedded_nvl_array: nelem lists back to back, no count.
		// Each takes at least 16 bytes, so the capacity is bounded by
		// what is left.
		out := make([]*Nvlist, 0, min(int(nelem), d.left()/16))
		for i := uint32(0); i < nelem; i++ {
			l, err := d.nvlist(depth + 1)
			if err != nil {
				return nil, err
			}
			out = append(out, l)
		}
		return out, nil
	case TypeByteArray:
		// xdr_opaque: nelem bytes, padded, no count.
		v, err := d.opaque(nelem)
		if err != nil {
			return nil, err
		}
		return append([]byte(nil), v...), nil
	case TypeStringArray:
		// nelem strings, no count.
		out := make([]string, 0, min(int(nelem), d.left()/4))
		for i := uint32(0); i < nelem; i++ {
			s, err := d.str(func() string { return fmt.Sprintf("string %d of %.64q", i, p.Name) })
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	}
	// The numeric arrays: xdr_array, a count then the elements.
	count, err := d.u32()
	if err != nil {
		return nil, err
	}
	if count != nelem {
		return nil, d.fail("pair %q: array count %d, nelem %d", p.Name, count, nelem)
	}
	width := 4
	if p.Type == TypeInt64Array || p.Type == TypeUint64Array {
		width = 8
	}
	if uint64(count)*uint64(width) > uint64(d.left()) {
		return nil, d.fail("pair %q: %d elements of %d bytes, %d left", p.Name, count, width, d.left())
	}
	switch p.Type {
	case TypeUint8Array, TypeUint16Array, TypeUint32Array, TypeUint64Array:
		out := make([]uint64, count)
		for i := range out {
			if width == 8 {
				out[i], _ = d.u64()
			} else {
				v, _ := d.u32()
				out[i] = uint64(v)
			}
		}
		return out, nil
	default:
		out := make([]int64, count)
		for i := range out {
			if width == 8 {
				v, _ := d.u64()
				out[i] = int64(v)
			} else {
				v, _ := d.i32()
				out[i] = int64(v)
			}
		}
		return out, nil
	}
}
