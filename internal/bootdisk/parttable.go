package bootdisk

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"unicode/utf16"
)

// The partition tables a kernel zone's boot disk may carry
// (docs/platform/zfs-label.md §4, §5; detection order §5.4): a GPT (EFI) label, a SPARC VTOC
// (dk_label in sector 0, big-endian) or an x86 VTOC (dk_label in sector 1
// of the Solaris fdisk partition, little-endian). Read-only and bounded:
// at most maxGPTEntries entries of at most maxGPTEntrySize bytes are read.

// ErrPartition is wrapped by every partition-table error.
var ErrPartition = errors.New("partition table")

// Scheme names a partition-table format.
type Scheme string

const (
	SchemeGPT    Scheme = "gpt"    // EFI GUID partition table
	SchemeVTOC8  Scheme = "vtoc8"  // SPARC SMI/VTOC label, sector 0
	SchemeVTOC16 Scheme = "vtoc16" // x86 SMI/VTOC label in the Solaris fdisk partition
)

const (
	maxGPTEntries   = 128  // the UEFI default; illumos's libefi writes 128
	maxGPTEntrySize = 1024 // UEFI: 128 * 2^n; more is refused
	maxSlices       = 16   // minor names a..p (cmlb); later entries are not probed
	vtocSane        = 0x600DDEEE
	dklMagic        = 0xDABE
	vtocSector      = 512
)

// Slice is one partition. Start and Size are in bytes from the start of
// the disk.
type Slice struct {
	Index int    // slice number: the GPT entry index, or the VTOC partition index
	Minor string // the device minor name suffix, "a" for slice 0 ("" past p)
	Start int64
	Size  int64
	// Type is the GPT partition type GUID, or the VTOC tag as "tag N".
	Type string
	// TypeName names a known type ("solaris-usr/zfs", "backup", ...).
	TypeName string
	Name     string // the GPT partition name (UTF-16 in the entry)
	Tag      uint16 // the VTOC tag (V_USR = 4 ...); 0 for GPT
}

// PartitionTable is a decoded partition table.
type PartitionTable struct {
	Scheme     Scheme
	SectorSize int64
	DiskGUID   string // GPT only
	// FromBackup is set when the GPT primary header was unusable and the
	// backup header at the last LBA was read; PrimaryErr says why.
	FromBackup bool
	PrimaryErr error
	// FdiskStart is the byte offset of the Solaris fdisk partition (x86 VTOC).
	FdiskStart int64
	Slices     []Slice
}

// Known GPT partition types (illumos uts/common/sys/efi_partition.h).
var gptTypes = map[string]string{
	"6a898cc3-1dd2-11b2-99a6-080020736631": "solaris-usr/zfs", // EFI_USR: where zpool puts a pool
	"6a85cf4d-1dd2-11b2-99a6-080020736631": "solaris-root",
	"6a82cb45-1dd2-11b2-99a6-080020736631": "solaris-boot",
	"6a945a3b-1dd2-11b2-99a6-080020736631": "solaris-reserved", // EFI_RESERVED, the 8 MiB slice 8
	"6a87c46f-1dd2-11b2-99a6-080020736631": "solaris-swap",
	"6a8b642b-1dd2-11b2-99a6-080020736631": "solaris-backup",
	"c12a7328-f81f-11d2-ba4b-00a0c93ec93b": "efi-system",
	"21686148-6449-6e6f-744e-656564454649": "bios-boot",
}

// VTOC tags (sys/vtoc.h V_*).
var vtocTags = map[uint16]string{
	0: "unassigned", 1: "boot", 2: "root", 3: "swap", 4: "usr", 5: "backup", 6: "stand",
	7: "var", 8: "home", 9: "alternates", 0x0a: "cache", 0x0b: "reserved", 0x0c: "system",
	0x18: "bios-boot",
}

const vtocBackup = 5

func minor(i int) string {
	if i < maxSlices {
		return string(rune('a' + i))
	}
	return ""
}

// ReadPartitionTable reads the partition table of the disk r of size bytes.
func ReadPartitionTable(r io.ReaderAt, size int64) (*PartitionTable, error) {
	if size < 2*vtocSector {
		return nil, fmt.Errorf("%w: disk of %d bytes", ErrPartition, size)
	}
	s0 := make([]byte, vtocSector)
	if err := readFull(r, s0, 0); err != nil {
		return nil, fmt.Errorf("%w: sector 0: %v", ErrPartition, err)
	}
	// GPT: the "EFI PART" header at LBA 1, for 512- or 4096-byte sectors;
	// or a protective MBR whose primary header is gone.
	for _, ss := range []int64{512, 4096} {
		if size < 3*ss {
			continue
		}
		sig := make([]byte, 8)
		if err := readFull(r, sig, ss); err != nil {
			return nil, fmt.Errorf("%w: LBA 1: %v", ErrPartition, err)
		}
		if string(sig) == "EFI PART" {
			return readGPT(r, size, ss)
		}
	}
	if hasMBR(s0) && mbrHasType(s0, 0xee) {
		return readGPT(r, size, 512)
	}
	if binary.BigEndian.Uint16(s0[508:]) == dklMagic {
		return readVTOC8(s0, size)
	}
	if hasMBR(s0) {
		var sol []int
		for i := 0; i < 4; i++ {
			if t := s0[446+16*i+4]; t == 0xbf || t == 0x82 {
				sol = append(sol, i)
			}
		}
		switch len(sol) {
		case 0:
			return nil, fmt.Errorf("%w: an MBR without a Solaris (0xbf/0x82) or GPT-protective (0xee) partition", ErrPartition)
		case 1:
		default:
			return nil, fmt.Errorf("%w: an MBR with %d Solaris partitions", ErrPartition, len(sol))
		}
		e := s0[446+16*sol[0]:]
		start := int64(binary.LittleEndian.Uint32(e[8:])) * vtocSector
		n := int64(binary.LittleEndian.Uint32(e[12:])) * vtocSector
		if start == 0 || start+n > size {
			return nil, fmt.Errorf("%w: Solaris fdisk partition at byte %d, %d bytes, on a disk of %d", ErrPartition, start, n, size)
		}
		return readVTOC16(r, start, n, size)
	}
	// x86 with no fdisk table: the whole disk is the Solaris partition,
	// as cmlb_read_fdisk assumes (docs/platform/zfs-label.md §5.3).
	s1 := make([]byte, vtocSector)
	if err := readFull(r, s1, vtocSector); err != nil {
		return nil, fmt.Errorf("%w: sector 1: %v", ErrPartition, err)
	}
	if binary.LittleEndian.Uint16(s1[508:]) == dklMagic {
		return readVTOC16(r, 0, size, size)
	}
	return nil, fmt.Errorf("%w: none found (no GPT header at LBA 1, no VTOC magic 0xDABE in sector 0 or 1, no MBR)", ErrPartition)
}

func hasMBR(s0 []byte) bool { return s0[510] == 0x55 && s0[511] == 0xaa }

func mbrHasType(s0 []byte, t byte) bool {
	for i := 0; i < 4; i++ {
		if s0[446+16*i+4] == t {
			return true
		}
	}
	return false
}

// readGPT reads the primary GPT header at LBA 1, and the backup header at
// the last LBA when the primary is unusable (as illumos's efi_read does).
func readGPT(r io.ReaderAt, size, ss int64) (*PartitionTable, error) {
	last := size/ss - 1
	pt, perr := readGPTAt(r, size, ss, 1)
	if perr == nil {
		return pt, nil
	}
	pt, berr := readGPTAt(r, size, ss, last)
	if berr != nil {
		return nil, fmt.Errorf("%w: GPT primary header: %v; backup header at LBA %d: %v", ErrPartition, perr, last, berr)
	}
	pt.FromBackup, pt.PrimaryErr = true, perr
	return pt, nil
}

func readGPTAt(r io.ReaderAt, size, ss, lba int64) (*PartitionTable, error) {
	h := make([]byte, ss)
	if err := readFull(r, h, lba*ss); err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	if string(h[:8]) != "EFI PART" {
		return nil, fmt.Errorf("no \"EFI PART\" signature at LBA %d", lba)
	}
	hsize := le.Uint32(h[12:])
	if hsize < 92 || int64(hsize) > ss {
		return nil, fmt.Errorf("header size %d (want 92..%d)", hsize, ss)
	}
	want := le.Uint32(h[16:])
	hc := append([]byte(nil), h[:hsize]...)
	clear(hc[16:20])
	if got := crc32.ChecksumIEEE(hc); got != want {
		return nil, fmt.Errorf("header CRC32 %#08x, computed %#08x", want, got)
	}
	if rev := le.Uint32(h[8:]); rev>>16 != 1 {
		return nil, fmt.Errorf("revision %#08x (want 1.x)", rev)
	}
	last := size/ss - 1
	my, first, lastUsable := int64(le.Uint64(h[24:])), int64(le.Uint64(h[40:])), int64(le.Uint64(h[48:]))
	if my != lba {
		return nil, fmt.Errorf("header says it is at LBA %d, read at %d", my, lba)
	}
	if first < 2 || lastUsable < first || lastUsable >= last || le.Uint64(h[40:]) > uint64(last) || le.Uint64(h[48:]) > uint64(last) {
		return nil, fmt.Errorf("usable LBAs %d..%d on a disk of %d sectors", le.Uint64(h[40:]), le.Uint64(h[48:]), last+1)
	}
	entLBA, n, esize := le.Uint64(h[72:]), le.Uint32(h[80:]), le.Uint32(h[84:])
	if n == 0 || n > maxGPTEntries {
		return nil, fmt.Errorf("%d partition entries (want 1..%d)", n, maxGPTEntries)
	}
	if esize < 128 || esize > maxGPTEntrySize || esize%8 != 0 {
		return nil, fmt.Errorf("entry size %d (want a multiple of 8, 128..%d)", esize, maxGPTEntrySize)
	}
	tbl := int64(n) * int64(esize)
	if entLBA < 2 || entLBA > uint64(last) || int64(entLBA)*ss+tbl > size || (int64(entLBA) <= lba && lba*ss < int64(entLBA)*ss+tbl) {
		return nil, fmt.Errorf("entries at LBA %d (%d bytes) outside the disk or over the header", entLBA, tbl)
	}
	ents := make([]byte, tbl)
	if err := readFull(r, ents, int64(entLBA)*ss); err != nil {
		return nil, err
	}
	if got, want := crc32.ChecksumIEEE(ents), le.Uint32(h[88:]); got != want {
		return nil, fmt.Errorf("entries CRC32 %#08x, computed %#08x", want, got)
	}
	pt := &PartitionTable{Scheme: SchemeGPT, SectorSize: ss, DiskGUID: guidString(h[56:72])}
	for i := 0; i < int(n); i++ {
		e := ents[i*int(esize):]
		if allZero(e[:16]) {
			continue
		}
		s, e0 := le.Uint64(e[32:]), le.Uint64(e[40:])
		if s < uint64(first) || e0 < s || e0 > uint64(lastUsable) {
			return nil, fmt.Errorf("entry %d: LBAs %d..%d outside the usable %d..%d", i, s, e0, first, lastUsable)
		}
		t := guidString(e[:16])
		// On an EFI label, minor 7 is "wd", the whole disk, whatever
		// entry 7 says (cmlb dk_minor_data_efi, WD_NODE): entry 7 is no
		// slice device, so it gets no minor and is not probed.
		m := minor(i)
		if i == 7 {
			m = ""
		}
		pt.Slices = append(pt.Slices, Slice{
			Index: i, Minor: m, Start: int64(s) * ss, Size: int64(e0-s+1) * ss,
			Type: t, TypeName: gptTypes[t], Name: utf16Name(e[56:128]),
		})
	}
	return pt, nil
}

// guidString formats an on-disk GUID (the first three fields little-endian).
func guidString(b []byte) string {
	le := binary.LittleEndian
	return fmt.Sprintf("%08x-%04x-%04x-%x-%x", le.Uint32(b), le.Uint16(b[4:]), le.Uint16(b[6:]), b[8:10], b[10:16])
}

func utf16Name(b []byte) string {
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		c := binary.LittleEndian.Uint16(b[i:])
		if c == 0 {
			break
		}
		u = append(u, c)
	}
	return string(utf16.Decode(u))
}

// vtocChecksum is true when the 16-bit words of the label XOR to zero
// (cmlb_validate_label; the byte order does not matter for XOR).
func vtocChecksum(b []byte) bool {
	var x uint16
	for i := 0; i < vtocSector; i += 2 {
		x ^= binary.BigEndian.Uint16(b[i:])
	}
	return x == 0
}

// readVTOC8 decodes a SPARC dk_label (_SUNOS_VTOC_8, big-endian) in sector
// 0: slices are cylinder-aligned, start = dkl_cylno * nhead * nsect.
func readVTOC8(s0 []byte, size int64) (*PartitionTable, error) {
	be := binary.BigEndian
	if !vtocChecksum(s0) {
		return nil, fmt.Errorf("%w: SPARC VTOC in sector 0: bad checksum", ErrPartition)
	}
	if v := be.Uint32(s0[188:]); v != vtocSane {
		return nil, fmt.Errorf("%w: SPARC VTOC in sector 0: v_sanity %#08x (want %#08x)", ErrPartition, v, vtocSane)
	}
	nparts := int(be.Uint16(s0[140:]))
	if nparts > 8 {
		return nil, fmt.Errorf("%w: SPARC VTOC: v_nparts %d (at most 8)", ErrPartition, nparts)
	}
	nhead, nsect := int64(be.Uint16(s0[436:])), int64(be.Uint16(s0[438:]))
	if nhead == 0 || nsect == 0 {
		return nil, fmt.Errorf("%w: SPARC VTOC: zero nhead (%d) or nsect (%d)", ErrPartition, nhead, nsect)
	}
	pt := &PartitionTable{Scheme: SchemeVTOC8, SectorSize: vtocSector}
	for i := 0; i < nparts; i++ {
		cyl, nblk := int64(be.Uint32(s0[444+8*i:])), int64(be.Uint32(s0[448+8*i:]))
		if nblk == 0 {
			continue
		}
		tag := be.Uint16(s0[142+4*i:])
		// Checked before multiplying: 32-bit cylinders times 16-bit
		// geometry would overflow.
		sectors := size / vtocSector
		if cyl > sectors/(nhead*nsect) || nblk > sectors {
			return nil, fmt.Errorf("%w: SPARC VTOC slice %d: cylinder %d, %d blocks, past the disk's %d sectors", ErrPartition, i, cyl, nblk, sectors)
		}
		start := cyl * nhead * nsect * vtocSector
		if start+nblk*vtocSector > size {
			return nil, fmt.Errorf("%w: SPARC VTOC slice %d: bytes %d..%d past the disk's %d", ErrPartition, i, start, start+nblk*vtocSector, size)
		}
		pt.Slices = append(pt.Slices, vtocSlice(i, tag, start, nblk*vtocSector))
	}
	return pt, nil
}

// readVTOC16 decodes an x86 dk_label (_SUNOS_VTOC_16, little-endian) in
// sector 1 of the Solaris fdisk partition at byte fstart, fsize bytes long;
// p_start is relative to that partition.
func readVTOC16(r io.ReaderAt, fstart, fsize, size int64) (*PartitionTable, error) {
	le := binary.LittleEndian
	b := make([]byte, vtocSector)
	if err := readFull(r, b, fstart+vtocSector); err != nil {
		return nil, fmt.Errorf("%w: x86 VTOC: %v", ErrPartition, err)
	}
	where := fmt.Sprintf("x86 VTOC at byte %d", fstart+vtocSector)
	if le.Uint16(b[508:]) != dklMagic {
		return nil, fmt.Errorf("%w: %s: magic %#04x (want %#04x)", ErrPartition, where, le.Uint16(b[508:]), dklMagic)
	}
	if !vtocChecksum(b) {
		return nil, fmt.Errorf("%w: %s: bad checksum", ErrPartition, where)
	}
	if v := le.Uint32(b[12:]); v != vtocSane {
		return nil, fmt.Errorf("%w: %s: v_sanity %#08x (want %#08x)", ErrPartition, where, v, vtocSane)
	}
	if ss := le.Uint16(b[28:]); ss != vtocSector {
		return nil, fmt.Errorf("%w: %s: v_sectorsz %d (only 512 is read)", ErrPartition, where, ss)
	}
	// cmlb_uselabel refuses a label whose track capacity is zero.
	if nhead, nsect := le.Uint32(b[468:]), le.Uint32(b[472:]); nhead == 0 || nsect == 0 {
		return nil, fmt.Errorf("%w: %s: zero nhead (%d) or nsect (%d)", ErrPartition, where, nhead, nsect)
	}
	nparts := int(le.Uint16(b[30:]))
	if nparts > 16 {
		return nil, fmt.Errorf("%w: %s: v_nparts %d (at most 16)", ErrPartition, where, nparts)
	}
	pt := &PartitionTable{Scheme: SchemeVTOC16, SectorSize: vtocSector, FdiskStart: fstart}
	for i := 0; i < nparts; i++ {
		p := b[72+12*i:]
		tag, start, n := le.Uint16(p), int64(le.Uint32(p[4:])), int64(le.Uint32(p[8:]))
		if n == 0 {
			continue
		}
		if (start+n)*vtocSector > fsize {
			return nil, fmt.Errorf("%w: %s: slice %d: sectors %d..%d past the fdisk partition's %d", ErrPartition, where, i, start, start+n, fsize/vtocSector)
		}
		pt.Slices = append(pt.Slices, vtocSlice(i, tag, fstart+start*vtocSector, n*vtocSector))
	}
	return pt, nil
}

func vtocSlice(i int, tag uint16, start, n int64) Slice {
	return Slice{Index: i, Minor: minor(i), Start: start, Size: n, Tag: tag,
		Type: fmt.Sprintf("tag %d", tag), TypeName: vtocTags[tag]}
}
