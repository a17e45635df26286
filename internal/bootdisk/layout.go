package bootdisk

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"unicode/utf16"
)

// Writers of partition tables and labels: the layouts the readers read
// (docs/platform/zfs-label.md §2, §4, §5, §7), for the simulator's kernel
// zone boot disks and for tests. volctl never writes a real disk.

type region struct {
	off  int64
	data []byte
}

func writeAll(w io.WriterAt, rs []region) error {
	for _, r := range rs {
		if _, err := w.WriteAt(r.data, r.off); err != nil {
			return fmt.Errorf("write %d bytes at %d: %w", len(r.data), r.off, err)
		}
	}
	return nil
}

// gptPart is one GPT entry for writeGPT, in 512-byte LBAs (end inclusive).
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
		panic(s + ": " + err.Error()) // only constants reach here
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
func writeGPT(w io.WriterAt, size int64, diskGUID string, parts []gptPart) error {
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
	return writeAll(w, []region{
		{0, mbr}, {ss, header(1, last, 2)}, {2 * ss, ents},
		{int64(last-32) * ss, ents}, {int64(last) * ss, header(last, 1, last-32)},
	})
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
func writeLabels(w io.WriterAt, base, size int64, packed []byte, order binary.ByteOrder) error {
	if len(packed) > physSize-eckSize {
		return fmt.Errorf("%w: packed config of %d bytes does not fit a label's %d", ErrNvlist, len(packed), physSize-eckSize)
	}
	if size < minLabelDisk {
		return fmt.Errorf("%w: slice of %d bytes is smaller than the four labels", ErrNoLabel, size)
	}
	for l := 0; l < NumLabels; l++ {
		off := LabelOffset(size, l)
		if _, err := w.WriteAt(physBlock(packed, uint64(off+physOffset), order), base+off+physOffset); err != nil {
			return fmt.Errorf("label L%d at byte %d: %w", l, base+off, err)
		}
	}
	return nil
}
