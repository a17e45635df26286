package bootdisk

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
)

// zdbDump renders labels the way zfs-fuse's zdb -l prints them (zdb.c
// dump_label and dump_nvlist): the golden form the reader is compared with.
func zdbDump(ls *Labels) string {
	var b strings.Builder
	for _, l := range ls.Labels {
		b.WriteString("--------------------------------------------\n")
		fmt.Fprintf(&b, "LABEL %d\n", l.Index)
		b.WriteString("--------------------------------------------\n")
		if l.Err != nil {
			fmt.Fprintf(&b, "failed to unpack label %d\n", l.Index)
			continue
		}
		dumpNvlist(&b, l.Config.Raw, 4)
	}
	return b.String()
}

func dumpNvlist(b *strings.Builder, l *Nvlist, indent int) {
	pad := strings.Repeat(" ", indent)
	for _, p := range l.Pairs {
		switch p.Type {
		case TypeString:
			fmt.Fprintf(b, "%s%s: '%s'\n", pad, p.Name, p.Value)
		case TypeUint64:
			fmt.Fprintf(b, "%s%s: %d\n", pad, p.Name, p.Value)
		case TypeNvlist:
			fmt.Fprintf(b, "%s%s:\n", pad, p.Name)
			dumpNvlist(b, p.Value.(*Nvlist), indent+4)
		case TypeNvlistArray:
			for i, c := range p.Value.([]*Nvlist) {
				fmt.Fprintf(b, "%s%s[%d]:\n", pad, p.Name, i)
				// zfs-fuse's zdb indents array members by 4 (later
				// zdbs by 8).
				dumpNvlist(b, c, indent+4)
			}
		default:
			fmt.Fprintf(b, "bad config type %d for %s\n", int32(p.Type), p.Name)
		}
	}
}

// memDisk is an in-memory disk: an io.ReaderAt and io.WriterAt.
type memDisk []byte

func (m memDisk) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off >= int64(len(m)) {
		return 0, io.EOF
	}
	n := copy(p, m[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (m memDisk) WriteAt(p []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(p)) > int64(len(m)) {
		return 0, fmt.Errorf("write past the end")
	}
	return copy(m[off:], p), nil
}

// sparseDisk is a disk of size bytes, zero but for a few regions.
type sparseDisk struct {
	size  int64
	parts []sparsePart
}

type sparsePart struct {
	off  int64
	data []byte
}

func (s *sparseDisk) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off >= s.size {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), s.size-off))
	clear(p[:n])
	for _, r := range s.parts {
		lo, hi := max(off, r.off), min(off+int64(n), r.off+int64(len(r.data)))
		if lo < hi {
			copy(p[lo-off:hi-off], r.data[lo-r.off:hi-r.off])
		}
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// WriteAt records a region (later regions win where they overlap).
func (s *sparseDisk) WriteAt(p []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(p)) > s.size {
		return 0, fmt.Errorf("write past the end")
	}
	s.parts = append(s.parts, sparsePart{off, append([]byte(nil), p...)})
	return len(p), nil
}

// gunzipFile reads a gzip-compressed test image.
func gunzipFile(t testing.TB, path string) memDisk {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// nv builds test nvlists for the XDR encoder below.
type nvPair struct {
	name  string
	typ   Type
	nelem int32
	value any // uint64, string, []nvPair (nvlist), [][]nvPair (nvlist array), []uint64, raw []byte
}

// packXDR packs pairs as nvlist_pack(NV_ENCODE_XDR) does (nvpair.c
// nvs_xdr_*), with the 4-byte header; a test's own encoder, used to build
// inputs the decoder must accept or refuse.
func packXDR(pairs []nvPair) []byte {
	var b bytes.Buffer
	b.Write([]byte{encodeXDR, 1, 0, 0}) // header: XDR, little-endian packer
	encodeList(&b, pairs)
	return b.Bytes()
}

func u32(b *bytes.Buffer, v uint32) { _ = binary.Write(b, binary.BigEndian, v) }

func xstr(b *bytes.Buffer, s string) {
	u32(b, uint32(len(s)))
	b.WriteString(s)
	for i := len(s); i%4 != 0; i++ {
		b.WriteByte(0)
	}
}

func encodeList(b *bytes.Buffer, pairs []nvPair) {
	u32(b, 0) // nvl_version
	u32(b, 1) // NV_UNIQUE_NAME
	for _, p := range pairs {
		var v bytes.Buffer
		xstr(&v, p.name)
		u32(&v, uint32(p.typ))
		n := p.nelem
		if n == 0 {
			switch x := p.value.(type) {
			case nil:
			case [][]nvPair:
				n = int32(len(x))
			case []uint64:
				n = int32(len(x))
			default:
				n = 1
			}
		}
		u32(&v, uint32(n))
		switch x := p.value.(type) {
		case uint64:
			_ = binary.Write(&v, binary.BigEndian, x)
		case string:
			xstr(&v, x)
		case []nvPair:
			encodeList(&v, x)
		case [][]nvPair:
			for _, l := range x {
				encodeList(&v, l)
			}
		case []uint64:
			u32(&v, uint32(len(x)))
			for _, e := range x {
				_ = binary.Write(&v, binary.BigEndian, e)
			}
		case []byte:
			v.Write(x)
		case nil:
		}
		u32(b, uint32(v.Len()+8)) // encode_size
		u32(b, uint32(v.Len()+8)) // decode_size (not checked)
		b.Write(v.Bytes())
	}
	u32(b, 0)
	u32(b, 0)
}

// poolConfig is a small pool config of the shape ZFS writes, for
// hand-made images.
func poolConfig(name string, txg uint64, physPath string) []nvPair {
	return []nvPair{
		{name: "version", typ: TypeUint64, value: uint64(37)},
		{name: "name", typ: TypeString, value: name},
		{name: "state", typ: TypeUint64, value: uint64(1)},
		{name: "txg", typ: TypeUint64, value: txg},
		{name: "pool_guid", typ: TypeUint64, value: uint64(0x1234567890abcdef)},
		{name: "hostid", typ: TypeUint64, value: uint64(0x8a0c3b11)},
		{name: "hostname", typ: TypeString, value: "kz1"},
		{name: "top_guid", typ: TypeUint64, value: uint64(42)},
		{name: "guid", typ: TypeUint64, value: uint64(42)},
		{name: "vdev_children", typ: TypeUint64, value: uint64(1)},
		{name: "vdev_tree", typ: TypeNvlist, value: []nvPair{
			{name: "type", typ: TypeString, value: "disk"},
			{name: "id", typ: TypeUint64, value: uint64(0)},
			{name: "guid", typ: TypeUint64, value: uint64(42)},
			{name: "path", typ: TypeString, value: "/dev/dsk/c1d0s1"},
			{name: "devid", typ: TypeString, value: "id1,kdev@A000_0/b"},
			{name: "phys_path", typ: TypeString, value: physPath},
			{name: "whole_disk", typ: TypeUint64, value: uint64(0)},
		}},
		{name: "features_for_read", typ: TypeNvlist, value: []nvPair{}},
	}
}
