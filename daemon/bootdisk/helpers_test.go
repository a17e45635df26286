package bootdisk

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"strings"
	"testing"
	"unicode/utf16"
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

// gptPart is one partition for writeGPT, in 512-byte LBAs (end inclusive).
type gptPart struct {
	index      int
	typ        string // GUID text
	first, end uint64
	name       string
}

func guidBytes(s string) []byte {
	var b [16]byte
	var a uint32
	var c, d uint16
	var rest1, rest2 uint64
	if _, err := fmt.Sscanf(s, "%08x-%04x-%04x-%04x-%012x", &a, &c, &d, &rest1, &rest2); err != nil {
		panic(s + ": " + err.Error())
	}
	binary.LittleEndian.PutUint32(b[0:], a)
	binary.LittleEndian.PutUint16(b[4:], c)
	binary.LittleEndian.PutUint16(b[6:], d)
	binary.BigEndian.PutUint16(b[8:], uint16(rest1))
	for i := 0; i < 6; i++ {
		b[10+i] = byte(rest2 >> (8 * (5 - i)))
	}
	return b[:]
}

// writeGPT writes a protective MBR, the primary GPT (header at LBA 1,
// 128 entries at LBA 2) and the backup (entries then header at the end),
// as the UEFI specification lays them out, on a disk of size bytes with
// 512-byte sectors.
func writeGPT(w io.WriterAt, size int64, diskGUID string, parts []gptPart) {
	const ss = 512
	last := uint64(size/ss - 1)
	ents := make([]byte, 128*128)
	for _, p := range parts {
		e := ents[p.index*128:]
		copy(e, guidBytes(p.typ))
		copy(e[16:], guidBytes(fmt.Sprintf("%08x-0000-4000-8000-%012x", 0x5eed0000+p.index, p.index+1)))
		binary.LittleEndian.PutUint64(e[32:], p.first)
		binary.LittleEndian.PutUint64(e[40:], p.end)
		for i, c := range utf16.Encode([]rune(p.name)) {
			binary.LittleEndian.PutUint16(e[56+2*i:], c)
		}
	}
	header := func(my, alt, entLBA uint64) []byte {
		h := make([]byte, ss)
		copy(h, "EFI PART")
		binary.LittleEndian.PutUint32(h[8:], 0x00010000)
		binary.LittleEndian.PutUint32(h[12:], 92)
		binary.LittleEndian.PutUint64(h[24:], my)
		binary.LittleEndian.PutUint64(h[32:], alt)
		binary.LittleEndian.PutUint64(h[40:], 34)
		binary.LittleEndian.PutUint64(h[48:], last-33)
		copy(h[56:], guidBytes(diskGUID))
		binary.LittleEndian.PutUint64(h[72:], entLBA)
		binary.LittleEndian.PutUint32(h[80:], 128)
		binary.LittleEndian.PutUint32(h[84:], 128)
		binary.LittleEndian.PutUint32(h[88:], crc32.ChecksumIEEE(ents))
		binary.LittleEndian.PutUint32(h[16:], crc32.ChecksumIEEE(h[:92]))
		return h
	}
	mbr := make([]byte, ss)
	mbr[446+4] = 0xee
	binary.LittleEndian.PutUint32(mbr[446+8:], 1)
	binary.LittleEndian.PutUint32(mbr[446+12:], uint32(min(last, 0xffffffff)))
	mbr[510], mbr[511] = 0x55, 0xaa
	must(w.WriteAt(mbr, 0))
	must(w.WriteAt(header(1, last, 2), ss))
	must(w.WriteAt(ents, 2*ss))
	must(w.WriteAt(ents, int64(last-32)*ss))
	must(w.WriteAt(header(last, 1, last-32), int64(last)*ss))
}

func must(_ int, err error) {
	if err != nil {
		panic(err)
	}
}

// vtocPart is one VTOC slice: tag, start and size in 512-byte sectors
// (VTOC_8: start must be a multiple of the cylinder size).
type vtocPart struct {
	tag         uint16
	start, size uint32
}

func xorFix(b []byte) {
	binary.BigEndian.PutUint16(b[510:], 0)
	var x uint16
	for i := 0; i < 510; i += 2 {
		x ^= binary.BigEndian.Uint16(b[i:])
	}
	binary.BigEndian.PutUint16(b[510:], x)
}

// sparcLabel builds a SPARC dk_label (_SUNOS_VTOC_8, big-endian) with
// nhead heads and nsect sectors per track (sys/dklabel.h offsets, see
// docs/platform/zfs-label.md §5.1).
func sparcLabel(nhead, nsect, ncyl uint16, parts [8]vtocPart) []byte {
	b := make([]byte, 512)
	be := binary.BigEndian
	copy(b, "volctl test disk cyl 1 alt 2 hd 1 sec 1")
	be.PutUint32(b[128:], 1) // v_version
	be.PutUint16(b[140:], 8) // v_nparts
	be.PutUint32(b[188:], vtocSane)
	be.PutUint16(b[420:], 7200)
	be.PutUint16(b[422:], ncyl+2)
	be.PutUint16(b[432:], ncyl)
	be.PutUint16(b[434:], 2)
	be.PutUint16(b[436:], nhead)
	be.PutUint16(b[438:], nsect)
	cylSize := uint32(nhead) * uint32(nsect)
	for i, p := range parts {
		be.PutUint16(b[142+4*i:], p.tag)
		be.PutUint32(b[444+8*i:], p.start/cylSize)
		be.PutUint32(b[448+8*i:], p.size)
	}
	be.PutUint16(b[508:], dklMagic)
	xorFix(b)
	return b
}

// x86Label builds an x86 dk_label (_SUNOS_VTOC_16, little-endian).
func x86Label(parts []vtocPart) []byte {
	b := make([]byte, 512)
	le := binary.LittleEndian
	le.PutUint32(b[12:], vtocSane)
	le.PutUint32(b[16:], 1)
	le.PutUint16(b[28:], 512)
	le.PutUint16(b[30:], 16)
	le.PutUint32(b[468:], 1)  // nhead
	le.PutUint32(b[472:], 16) // nsect
	for i, p := range parts {
		le.PutUint16(b[72+12*i:], p.tag)
		le.PutUint32(b[72+12*i+4:], p.start)
		le.PutUint32(b[72+12*i+8:], p.size)
	}
	le.PutUint16(b[508:], dklMagic)
	xorFix(b)
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

// physBlock wraps a packed nvlist into a 112 KiB vdev_phys_t with a valid
// label checksum for the offset physOff, in the given byte order.
func physBlock(packed []byte, physOff uint64, order binary.ByteOrder) []byte {
	buf := make([]byte, physSize)
	copy(buf, packed)
	eck := buf[physSize-eckSize:]
	order.PutUint64(eck, zecMagic)
	order.PutUint64(eck[8:], physOff)
	sum := sha256.Sum256(buf)
	for i := 0; i < 4; i++ {
		order.PutUint64(eck[8+8*i:], binary.BigEndian.Uint64(sum[8*i:]))
	}
	return buf
}

// writeLabels writes four labels holding packed at the right places of a
// device of size bytes starting at base in w.
func writeLabels(w io.WriterAt, base, size int64, packed []byte, order binary.ByteOrder) {
	for l := 0; l < NumLabels; l++ {
		off := LabelOffset(size, l)
		must(w.WriteAt(physBlock(packed, uint64(off+physOffset), order), base+off+physOffset))
	}
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
