package bootdisk

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestDecodeXDRPoolConfig(t *testing.T) {
	packed := packXDR(poolConfig("rpool", 1234, "/zvnex/zvblk@0:b"))
	// Trailing padding (the rest of the 112 KiB area) is not read.
	l, n, err := DecodeXDR(append(append([]byte(nil), packed...), make([]byte, 100)...))
	if err != nil {
		t.Fatal(err)
	}
	if n != len(packed) {
		t.Fatalf("consumed %d bytes, packed %d", n, len(packed))
	}
	if s, _ := l.Str("name"); s != "rpool" {
		t.Fatalf("name %q", s)
	}
	if v, _ := l.Uint64("txg"); v != 1234 {
		t.Fatalf("txg %d", v)
	}
	tree, ok := l.List("vdev_tree")
	if !ok {
		t.Fatal("no vdev_tree")
	}
	if s, _ := tree.Str("phys_path"); s != "/zvnex/zvblk@0:b" {
		t.Fatalf("phys_path %q", s)
	}
	if f, ok := l.List("features_for_read"); !ok || len(f.Pairs) != 0 {
		t.Fatalf("features_for_read %v %v", f, ok)
	}
	if l.Flags != 1 {
		t.Fatalf("flags %d", l.Flags)
	}
}

func TestDecodeXDRTypes(t *testing.T) {
	kids := [][]nvPair{
		{{name: "type", typ: TypeString, value: "disk"}, {name: "guid", typ: TypeUint64, value: uint64(1)}},
		{{name: "type", typ: TypeString, value: "disk"}, {name: "guid", typ: TypeUint64, value: uint64(2)}},
	}
	var raw bytes.Buffer
	u32(&raw, 3)
	for _, v := range []uint64{1, 1 << 40, 3} {
		_ = binary.Write(&raw, binary.BigEndian, v)
	}
	packed := packXDR([]nvPair{
		{name: "flag", typ: TypeBoolean},
		{name: "children", typ: TypeNvlistArray, value: kids},
		{name: "arr", typ: TypeUint64Array, nelem: 3, value: raw.Bytes()},
		{name: "empty", typ: TypeUint64Array, nelem: 0},
		{name: "bytes", typ: TypeByteArray, nelem: 5, value: []byte{1, 2, 3, 4, 5, 0, 0, 0}},
		{name: "strs", typ: TypeStringArray, nelem: 2, value: []byte{0, 0, 0, 1, 'x', 0, 0, 0, 0, 0, 0, 0}},
		{name: "i32", typ: TypeInt32, value: []byte{0xff, 0xff, 0xff, 0xfe}},
		{name: "bv", typ: TypeBooleanValue, value: []byte{0, 0, 0, 1}},
	})
	l, _, err := DecodeXDR(packed)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"flag":  nil,
		"arr":   []uint64{1, 1 << 40, 3},
		"empty": []uint64{},
		"bytes": []byte{1, 2, 3, 4, 5},
		"strs":  []string{"x", ""},
		"i32":   int64(-2),
		"bv":    true,
	}
	for name, v := range want {
		p, ok := l.Lookup(name)
		if !ok || !reflect.DeepEqual(p.Value, v) {
			t.Errorf("%s = %#v (%v), want %#v", name, p.Value, ok, v)
		}
	}
	ch, ok := l.Lists("children")
	if !ok || len(ch) != 2 {
		t.Fatalf("children %v", ch)
	}
	if g, _ := ch[1].Uint64("guid"); g != 2 {
		t.Fatalf("child guid %d", g)
	}
}

// Each hostile or corrupt input is an error naming what is wrong, never a
// panic.
func TestDecodeXDRRefuses(t *testing.T) {
	good := packXDR(poolConfig("rpool", 7, "/zvnex/zvblk@0:b"))
	mut := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	nest := func(depth int) []byte {
		v := []nvPair{{name: "x", typ: TypeUint64, value: uint64(1)}}
		for i := 0; i < depth; i++ {
			v = []nvPair{{name: "n", typ: TypeNvlist, value: v}}
		}
		return packXDR(v)
	}
	dup := packXDR([]nvPair{{name: "a", typ: TypeUint64, value: uint64(1)}, {name: "a", typ: TypeUint64, value: uint64(2)}})
	for _, tc := range []struct {
		name string
		in   []byte
		want string
	}{
		{"short", good[:3], "shorter than the 4-byte header"},
		{"native", mut(func(b []byte) []byte { b[0] = 0; return b }), "native encoding"},
		{"unknown encoding", mut(func(b []byte) []byte { b[0] = 9; return b }), "unknown encoding"},
		{"endian", mut(func(b []byte) []byte { b[1] = 7; return b }), "endian byte"},
		{"truncated", good[:len(good)-5], "truncated"},
		{"no end marker", good[:len(good)-8], "truncated"},
		{"name too long", mut(func(b []byte) []byte { binary.BigEndian.PutUint32(b[20:], 1<<30); return b }), "name of 1073741824 bytes"},
		{"name past end", mut(func(b []byte) []byte { binary.BigEndian.PutUint32(b[20:], 4000); return b }), "truncated"},
		{"negative size", mut(func(b []byte) []byte { binary.BigEndian.PutUint32(b[12:], 0xffffff00); return b }), "negative pair size"},
		{"deep", nest(MaxDepth + 2), "nested deeper"},
		{"duplicate", dup, `"a" appears twice`},
		{"unknown type", packXDR([]nvPair{{name: "x", typ: 99, value: uint64(1)}}), "unknown data type 99"},
		{"scalar nelem", packXDR([]nvPair{{name: "x", typ: TypeUint64, nelem: 2, value: uint64(1)}}), "nelem 2"},
		{"boolean nelem", packXDR([]nvPair{{name: "x", typ: TypeBoolean, nelem: 1}}), "boolean with nelem 1"},
		{"huge array", packXDR([]nvPair{{name: "x", typ: TypeUint64Array, nelem: 1 << 30, value: []byte{0x40, 0, 0, 0}}}), "elements (at most"},
		{"array count", packXDR([]nvPair{{name: "x", typ: TypeUint64Array, nelem: 2, value: []byte{0, 0, 0, 3}}}), "array count 3, nelem 2"},
		{"array past end", packXDR([]nvPair{{name: "x", typ: TypeUint64Array, nelem: 9000, value: []byte{0, 0, 0x23, 0x28}}}), "elements of 8 bytes"},
		{"nvlist array past end", packXDR([]nvPair{{name: "x", typ: TypeNvlistArray, nelem: 9000, value: []byte{}}}), "truncated"},
		{"nul in string", packXDR([]nvPair{{name: "x", typ: TypeString, value: "a\x00b"}}), "has a NUL"},
		{"empty name", packXDR([]nvPair{{name: "", typ: TypeUint64, value: uint64(1)}}), "empty pair name"},
		{"boolean_value 2", packXDR([]nvPair{{name: "x", typ: TypeBooleanValue, value: []byte{0, 0, 0, 2}}}), "boolean_value 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := DecodeXDR(tc.in)
			if err == nil || !errors.Is(err, ErrNvlist) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want ErrNvlist with %q", err, tc.want)
			}
		})
	}
}

func TestDecodeXDRPairCap(t *testing.T) {
	var many []nvPair
	for i := 0; i <= MaxPairs; i++ {
		many = append(many, nvPair{name: "p" + strings.Repeat("x", i%3) + string(rune('a'+i%26)) + itoa(i), typ: TypeBoolean})
	}
	if _, _, err := DecodeXDR(packXDR(many)); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Fatalf("err %v", err)
	}
	if _, _, err := DecodeXDR(packXDR(many[:MaxPairs])); err != nil {
		t.Fatalf("at the cap: %v", err)
	}
}

func itoa(i int) string {
	var b []byte
	for {
		b = append([]byte{byte('0' + i%10)}, b...)
		if i /= 10; i == 0 {
			return string(b)
		}
	}
}

// A hostile label: the longest name and the most elements, each an empty
// string. Decoding it must cost about its size (it once formatted the
// name for every element: about a second per label).
func BenchmarkDecodeXDRHostileStringArray(b *testing.B) {
	var v bytes.Buffer
	for i := 0; i < MaxElems; i++ {
		u32(&v, 0)
	}
	packed := packXDR([]nvPair{{name: strings.Repeat("n", MaxString), typ: TypeStringArray, nelem: MaxElems, value: v.Bytes()}})
	b.SetBytes(int64(len(packed)))
	for i := 0; i < b.N; i++ {
		if _, _, err := DecodeXDR(packed); err != nil {
			b.Fatal(err)
		}
	}
}
