package bootdisk

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"strings"
	"sync"
	"testing"
)

// The golden disk: 80 MiB (zfs-fuse refuses devices under 64 MiB), GPT
// with slice a an EFI system partition, slice b the pool (EFI_USR, as
// zpool labels it) and slice i (entry 8) the 8 MiB reserved partition, the layout of
// an EFI-labelled Solaris boot disk (docs/platform/zfs-label.md §4.3).
const (
	goldenSize   = 80 << 20
	goldenSliceB = 4096 // first LBA of slice b
)

var goldenParts = []gptPart{
	{index: 0, typ: "c12a7328-f81f-11d2-ba4b-00a0c93ec93b", first: 256, end: 4095, name: "boot"},
	{index: 1, typ: "6a898cc3-1dd2-11b2-99a6-080020736631", first: goldenSliceB, end: goldenSize/512 - 34 - 16384, name: "zfs"},
	{index: 8, typ: "6a945a3b-1dd2-11b2-99a6-080020736631", first: goldenSize/512 - 34 - 16383, end: goldenSize/512 - 34, name: ""},
}

const goldenImage = "testdata/gpt-zfsfuse.img.gz"

// goldenDisk is the disk zfs-fuse labelled (TestZfsFuseGPT made it):
// 80 MiB, GPT, the pool in slice b.
// Each caller gets its own copy; the image is decompressed once.
func goldenDisk(t testing.TB) (memDisk, string) {
	t.Helper()
	goldenOnce.Do(func() {
		want, err := os.ReadFile("testdata/gpt-zfsfuse.zdb")
		if err != nil {
			t.Fatal(err)
		}
		goldenWant, goldenBytes = string(want), gunzipFile(t, goldenImage)
	})
	if goldenBytes == nil {
		t.Fatal("golden image not loaded")
	}
	return append(memDisk(nil), goldenBytes...), goldenWant
}

// goldenRO is the shared image, for tests that do not write to it.
func goldenRO(t testing.TB) (memDisk, string) {
	goldenDisk(t)
	return goldenBytes, goldenWant
}

var (
	goldenOnce  sync.Once
	goldenBytes memDisk
	goldenWant  string
)

// The committed image, labelled by real ZFS code, read without root: the
// reader prints what zdb -l printed for the same slice.
func TestGoldenZfsFuseGPT(t *testing.T) {
	disk, want := goldenRO(t)
	d, err := ReadDisk(disk, int64(len(disk)))
	if err != nil {
		t.Fatal(err)
	}
	pt := d.Table
	if pt.Scheme != SchemeGPT || pt.SectorSize != 512 || pt.FromBackup || pt.DiskGUID != "0b00d15c-0000-4000-8000-00000000b001" {
		t.Fatalf("table %+v", pt)
	}
	if len(pt.Slices) != 3 || pt.Slices[1].TypeName != "solaris-usr/zfs" || pt.Slices[1].Name != "zfs" || pt.Slices[2].Minor != "i" {
		t.Fatalf("slices %+v", pt.Slices)
	}
	sl, err := d.Pool()
	if err != nil {
		t.Fatal(err)
	}
	if sl.Slice.Minor != "b" || sl.Slice.Start != goldenSliceB*512 {
		t.Fatalf("pool slice %+v", sl.Slice)
	}
	if got := zdbDump(sl.Labels); got != want {
		t.Fatalf("reader and zdb -l differ:\n--- reader\n%s\n--- zdb -l\n%s", got, want)
	}
	c, _ := sl.Labels.Config()
	if !strings.Contains(want, "name: '"+c.Name+"'") || c.State != 1 || StateName(c.State) != "EXPORTED" || c.Tree.Type != "disk" || len(c.Tree.Leaves()) != 1 {
		t.Fatalf("config %+v tree %+v", c, c.Tree)
	}
	if len(sl.Labels.Agree) != 4 || sl.Labels.Best != 0 {
		t.Fatalf("best %d agree %v", sl.Labels.Best, sl.Labels.Agree)
	}
	// Slice a (EFI system, empty) was probed and holds no label.
	if d.Slices[0].Slice.Minor != "a" || d.Slices[0].Labels.Best != -1 {
		t.Fatalf("slice a %+v", d.Slices[0])
	}
}

// sliceOf returns the pool slice of the golden disk as its own device.
func sliceOf(disk memDisk) memDisk {
	p := goldenParts[1]
	return append(memDisk(nil), disk[p.first*512:(p.end+1)*512]...)
}

// patchTxg rewrites the txg of a packed nvlist (the top-level "txg" pair).
func patchTxg(t *testing.T, packed []byte, txg uint64) []byte {
	pat := []byte{0, 0, 0, 3, 't', 'x', 'g', 0, 0, 0, 0, byte(TypeUint64), 0, 0, 0, 1}
	i := bytes.Index(packed, pat)
	if i < 0 {
		t.Fatal("no txg pair")
	}
	out := append([]byte(nil), packed...)
	binary.BigEndian.PutUint64(out[i+len(pat):], txg)
	return out
}

func TestLabelsDisagree(t *testing.T) {
	disk, _ := goldenRO(t)
	dev := sliceOf(disk)
	size := int64(len(dev))
	ls, err := ReadLabels(dev, size)
	if err != nil || ls.Best != 0 {
		t.Fatalf("%v %+v", err, ls)
	}
	packed := ls.Labels[0].packed
	txg := ls.Labels[0].Config.TXG

	// L0: one byte of its nvlist flipped: the checksum catches it.
	dev[LabelOffset(size, 0)+physOffset+100] ^= 0xff
	// L1: the checksum magic gone.
	clear(dev[LabelOffset(size, 1)+physOffset+physSize-eckSize:][:8])
	// L3: a later txg, validly checksummed (as a label written after L0..L2).
	newer := physBlock(patchTxg(t, packed, txg+5), uint64(LabelOffset(size, 3)+physOffset), binary.LittleEndian)
	copy(dev[LabelOffset(size, 3)+physOffset:], newer)

	ls, err = ReadLabels(dev, size)
	if err != nil {
		t.Fatal(err)
	}
	if ls.Best != 3 || ls.Labels[3].Config.TXG != txg+5 {
		t.Fatalf("best %d", ls.Best)
	}
	if len(ls.Agree) != 1 || ls.Agree[0] != 3 {
		t.Fatalf("agree %v, want [3]", ls.Agree)
	}
	for l, want := range map[int]string{0: "checksum mismatch", 1: "no checksum magic"} {
		if e := ls.Labels[l].Err; e == nil || !strings.Contains(e.Error(), want) {
			t.Errorf("L%d: %v, want %q", l, e, want)
		}
	}
	if ls.Labels[2].Err != nil || ls.Labels[2].Config.TXG != txg {
		t.Fatalf("L2 %+v", ls.Labels[2])
	}
}

// A label copied to a place it was not written for fails its checksum:
// the verifier is the label's own offset.
func TestLabelVerifierIsOffset(t *testing.T) {
	disk, _ := goldenRO(t)
	dev := sliceOf(disk)
	size := int64(len(dev))
	copy(dev[LabelOffset(size, 1)+physOffset:][:physSize], dev[LabelOffset(size, 0)+physOffset:][:physSize])
	ls, err := ReadLabels(dev, size)
	if err != nil {
		t.Fatal(err)
	}
	if e := ls.Labels[1].Err; e == nil || !strings.Contains(e.Error(), "checksum mismatch") {
		t.Fatalf("L1 moved from L0: %v", e)
	}
	if len(ls.Agree) != 3 {
		t.Fatalf("agree %v", ls.Agree)
	}
}

// Read as a device 1 MiB longer, the end labels are looked for where they
// are not: blank, and the start labels still agree.
func TestLabelsWrongSize(t *testing.T) {
	disk, _ := goldenRO(t)
	dev := append(sliceOf(disk), make([]byte, 1<<20)...)
	ls, err := ReadLabels(dev, int64(len(dev)))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []int{2, 3} {
		if e := ls.Labels[l].Err; e == nil || !strings.Contains(e.Error(), "blank") {
			t.Fatalf("L%d: %v", l, e)
		}
	}
	if ls.Best != 0 || len(ls.Agree) != 2 {
		t.Fatalf("best %d agree %v", ls.Best, ls.Agree)
	}
	// And the whole disk read as one device holds no label at all.
	ls, err = ReadLabels(disk, int64(len(disk)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ls.Config(); !errors.Is(err, ErrNoLabel) || !strings.Contains(err.Error(), "L0: blank") {
		t.Fatalf("whole disk: %v", err)
	}
	if _, err := ReadLabels(disk[:minLabelDisk-1], minLabelDisk-1); !errors.Is(err, ErrNoLabel) {
		t.Fatalf("small: %v", err)
	}
}

// A GPT whose primary header is damaged is read from its backup.
func TestGPTBackup(t *testing.T) {
	disk, _ := goldenDisk(t)
	disk[512+40] ^= 1 // first usable LBA: the header CRC no longer matches
	pt, err := ReadPartitionTable(disk, int64(len(disk)))
	if err != nil {
		t.Fatal(err)
	}
	if !pt.FromBackup || !strings.Contains(pt.PrimaryErr.Error(), "header CRC32") || len(pt.Slices) != 3 {
		t.Fatalf("%+v", pt)
	}
	// Both damaged: refused.
	last := int64(len(disk)) - 512
	disk[last+88] ^= 1 // backup's entries CRC
	if _, err := ReadPartitionTable(disk, int64(len(disk))); !errors.Is(err, ErrPartition) || !strings.Contains(err.Error(), "backup header") {
		t.Fatalf("both damaged: %v", err)
	}
}

func TestGPTRefuses(t *testing.T) {
	disk, _ := goldenRO(t)
	head := append(memDisk(nil), disk[:64<<10]...)
	for _, tc := range []struct {
		name string
		mut  func(h []byte)
		want string
	}{
		{"entries crc", func(h []byte) { h[2*512+40] ^= 1 }, "entries CRC32"},
		{"header size", func(h []byte) { binary.LittleEndian.PutUint32(h[512+12:], 600) }, "header size 600"},
		{"entries count", func(h []byte) { binary.LittleEndian.PutUint32(h[512+80:], 1<<20); fixHeaderCRC(h) }, "1048576 partition entries"},
		{"entry size", func(h []byte) { binary.LittleEndian.PutUint32(h[512+84:], 100); fixHeaderCRC(h) }, "entry size 100"},
		{"entries lba", func(h []byte) { binary.LittleEndian.PutUint64(h[512+72:], 1<<40); fixHeaderCRC(h) }, "outside the disk"},
		{"my lba", func(h []byte) { binary.LittleEndian.PutUint64(h[512+24:], 5); fixHeaderCRC(h) }, "at LBA 5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := append(memDisk(nil), head...)
			tc.mut(h)
			// The disk with no backup GPT: the primary's error is what is
			// reported.
			_, err := ReadPartitionTable(&sparseDisk{size: int64(len(disk)), parts: []sparsePart{{0, h}}}, int64(len(disk)))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
}

func fixHeaderCRC(h []byte) {
	clear(h[512+16 : 512+20])
	binary.LittleEndian.PutUint32(h[512+16:], crc32.ChecksumIEEE(h[512:512+92]))
}

// A hand-made SPARC VTOC disk: slice a root, slice b holding the real
// zfs-fuse pool slice, slice c the backup slice over the whole disk
// (docs/platform/zfs-label.md §5.1).
func TestVTOC8(t *testing.T) {
	golden, want := goldenRO(t)
	slice := sliceOf(golden)
	const nhead, nsect = 1, 128 // cylinder = 64 KiB
	bStart := uint32(32 * nhead * nsect)
	size := int64(bStart)*512 + int64(len(slice)) + 1<<20
	disk := make(memDisk, size)
	var parts [8]vtocPart
	parts[0] = vtocPart{tag: 2, start: nhead * nsect, size: 16 * nhead * nsect}
	parts[1] = vtocPart{tag: 4, start: bStart, size: uint32(len(slice) / 512)}
	parts[2] = vtocPart{tag: 5, start: 0, size: uint32(size / 512)}
	copy(disk, sparcLabel(nhead, nsect, uint16(size/512/(nhead*nsect)), parts))
	copy(disk[int64(bStart)*512:], slice)

	d, err := ReadDisk(disk, size)
	if err != nil {
		t.Fatal(err)
	}
	if d.Table.Scheme != SchemeVTOC8 || len(d.Table.Slices) != 3 || d.Table.Slices[2].TypeName != "backup" {
		t.Fatalf("table %+v", d.Table)
	}
	if len(d.Slices) != 2 {
		t.Fatalf("probed %d slices (the backup slice must not be)", len(d.Slices))
	}
	sl, err := d.Pool()
	if err != nil {
		t.Fatal(err)
	}
	if sl.Slice.Minor != "b" || sl.Slice.Start != int64(bStart)*512 {
		t.Fatalf("slice %+v", sl.Slice)
	}
	if got := zdbDump(sl.Labels); got != want {
		t.Fatalf("reader and zdb -l differ:\n%s\n---\n%s", got, want)
	}

	// A bad checksum, then a bad sanity word, are refused.
	disk[200] ^= 1
	if _, err := ReadPartitionTable(disk, size); err == nil || !strings.Contains(err.Error(), "bad checksum") {
		t.Fatalf("checksum: %v", err)
	}
	disk[200] ^= 1
	disk[188] ^= 1
	disk[510] ^= 1 // keep the XOR right so that the sanity check is what fails
	if _, err := ReadPartitionTable(disk, size); err == nil || !strings.Contains(err.Error(), "v_sanity") {
		t.Fatalf("sanity: %v", err)
	}
}

// A hand-made x86 disk: an MBR with a Solaris2 (0xbf) fdisk partition at
// sector 2048, the VTOC in its sector 1, slice a boot, slice b the pool;
// the labels are hand-packed, big-endian-written (as a SPARC host would),
// with a kernel zone's phys_path.
func TestVTOC16HandMade(t *testing.T) {
	const fstart = 2048
	const poolSectors = 4096 // 2 MiB slice: room for the four labels
	size := int64(fstart+16+poolSectors+64) * 512
	disk := make(memDisk, size)
	mbr := disk[:512]
	mbr[446+4] = 0xbf
	binary.LittleEndian.PutUint32(mbr[446+8:], fstart)
	binary.LittleEndian.PutUint32(mbr[446+12:], uint32(size/512-fstart))
	mbr[510], mbr[511] = 0x55, 0xaa
	copy(disk[(fstart+1)*512:], x86Label([]vtocPart{
		{tag: 1, start: 0, size: 16},
		{tag: 4, start: 16, size: poolSectors},
		{tag: 5, start: 0, size: uint32(size/512 - fstart)},
	}))
	base := int64(fstart+16) * 512
	writeLabels(disk, base, poolSectors*512, packXDR(poolConfig("rpool", 99, "/zvnex/zvblk@0:b")), binary.BigEndian)

	d, err := ReadDisk(disk, size)
	if err != nil {
		t.Fatal(err)
	}
	if d.Table.Scheme != SchemeVTOC16 || d.Table.FdiskStart != fstart*512 {
		t.Fatalf("table %+v", d.Table)
	}
	sl, err := d.Pool()
	if err != nil {
		t.Fatal(err)
	}
	c, _ := sl.Labels.Config()
	if sl.Slice.Minor != "b" || sl.Slice.Start != base || !sl.Labels.Labels[0].BigEndian {
		t.Fatalf("slice %+v", sl)
	}
	if c.Name != "rpool" || c.TXG != 99 || c.Hostname != "kz1" || !c.HasHostID || c.HostID != 0x8a0c3b11 ||
		c.Tree.PhysPath != "/zvnex/zvblk@0:b" || c.Tree.DevID != "id1,kdev@A000_0/b" || c.Tree.Path != "/dev/dsk/c1d0s1" {
		t.Fatalf("config %+v tree %+v", c, c.Tree)
	}
	if len(sl.Labels.Agree) != 4 {
		t.Fatalf("agree %v", sl.Labels.Agree)
	}

}

// Two slices with pools: the caller is not left to guess which is the
// zone's.
func TestTwoPools(t *testing.T) {
	const poolSectors = 4096
	size := int64(1+2*poolSectors+64) * 512
	disk := make(memDisk, size)
	copy(disk[512:], x86Label([]vtocPart{
		{tag: 4, start: 16, size: poolSectors},
		{tag: 4, start: 16 + poolSectors, size: poolSectors},
	}))
	writeLabels(disk, 16*512, poolSectors*512, packXDR(poolConfig("rpool", 9, "/zvnex/zvblk@0:a")), binary.LittleEndian)
	writeLabels(disk, (16+poolSectors)*512, poolSectors*512, packXDR(poolConfig("other", 9, "/zvnex/zvblk@0:b")), binary.LittleEndian)
	d, err := ReadDisk(disk, size)
	if err != nil {
		t.Fatal(err)
	}
	if d.Table.Scheme != SchemeVTOC16 || d.Table.FdiskStart != 0 {
		t.Fatalf("table %+v", d.Table)
	}
	if _, err := d.Pool(); !errors.Is(err, ErrNoPool) || !strings.Contains(err.Error(), `slice a: pool "rpool", slice b: pool "other"`) {
		t.Fatalf("%v", err)
	}
}

func TestPartitionTableNone(t *testing.T) {
	disk := make(memDisk, 1<<20)
	if _, err := ReadPartitionTable(disk, int64(len(disk))); !errors.Is(err, ErrPartition) || !strings.Contains(err.Error(), "none found") {
		t.Fatalf("%v", err)
	}
	disk[510], disk[511] = 0x55, 0xaa
	disk[446+4] = 0x83
	if _, err := ReadPartitionTable(disk, int64(len(disk))); err == nil || !strings.Contains(err.Error(), "without a Solaris") {
		t.Fatalf("%v", err)
	}
}

// The fuzz seeds are the golden images' label 0, byte for byte
// (VOLCTL_BOOTDISK_GOLDEN=1 rewrites them).
func TestGoldenLabelSeed(t *testing.T) {
	mirror, _ := goldenMirror(t)
	single, _ := goldenRO(t)
	for _, c := range []struct {
		disk memDisk
		seed string
	}{{single, goldenNvlist}, {mirror, goldenMirrorNvlist}} {
		d, err := ReadDisk(c.disk, int64(len(c.disk)))
		if err != nil {
			t.Fatal(err)
		}
		sl, err := d.Pool()
		if err != nil {
			t.Fatal(err)
		}
		packed := sl.Labels.Labels[0].packed
		if os.Getenv("VOLCTL_BOOTDISK_GOLDEN") == "1" {
			if err := os.WriteFile(c.seed, packed, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		seed, err := os.ReadFile(c.seed)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(seed, packed) {
			t.Fatalf("%s is not label 0 of its image", c.seed)
		}
	}
}

// goldenMirror is the mirror's first disk, decompressed once; callers do
// not write to it.
func goldenMirror(t *testing.T) (memDisk, string) {
	t.Helper()
	mirrorOnce.Do(func() {
		want, err := os.ReadFile("testdata/gpt-zfsfuse-mirror.zdb")
		if err != nil {
			t.Fatal(err)
		}
		mirrorWant, mirrorBytes = string(want), gunzipFile(t, "testdata/gpt-zfsfuse-mirror.img.gz")
	})
	if mirrorBytes == nil {
		t.Fatal("golden mirror image not loaded")
	}
	return mirrorBytes, mirrorWant
}

var (
	mirrorOnce  sync.Once
	mirrorBytes memDisk
	mirrorWant  string
)

// One disk of a two-way mirror zfs-fuse wrote (TestZfsFuseMirror): the
// tree is a mirror with two disk leaves, this disk the first.
func TestGoldenZfsFuseMirror(t *testing.T) {
	disk, want := goldenMirror(t)
	d, err := ReadDisk(disk, int64(len(disk)))
	if err != nil {
		t.Fatal(err)
	}
	sl, err := d.Pool()
	if err != nil {
		t.Fatal(err)
	}
	if got := zdbDump(sl.Labels); got != want {
		t.Fatalf("reader and zdb -l differ:\n--- reader\n%s\n--- zdb -l\n%s", got, want)
	}
	c, _ := sl.Labels.Config()
	leaves := c.Tree.Leaves()
	if c.Tree.Type != "mirror" || len(leaves) != 2 || leaves[0].GUID != c.GUID || leaves[1].GUID == c.GUID ||
		leaves[0].Type != "disk" || leaves[0].Path == "" || leaves[0].Path == leaves[1].Path {
		t.Fatalf("tree %+v leaves %+v %+v", c.Tree, leaves[0], leaves[1])
	}
}

// GPT entry 7 is no slice: minor 7 of an EFI-labelled disk is "wd", the
// whole disk (cmlb), so it is listed without a minor and not probed.
func TestGPTEntry7(t *testing.T) {
	d := &sparseDisk{size: 64 << 20}
	writeGPT(d, d.size, "0b00d15c-0000-4000-8000-00000000b001", []gptPart{
		{index: 1, typ: "6a898cc3-1dd2-11b2-99a6-080020736631", first: 2048, end: 40000},
		{index: 7, typ: "6a898cc3-1dd2-11b2-99a6-080020736631", first: 40001, end: 80000},
	})
	disk, err := ReadDisk(d, d.size)
	if err != nil {
		t.Fatal(err)
	}
	if len(disk.Table.Slices) != 2 || disk.Table.Slices[1].Index != 7 || disk.Table.Slices[1].Minor != "" {
		t.Fatalf("slices %+v", disk.Table.Slices)
	}
	if len(disk.Slices) != 1 || disk.Slices[0].Slice.Minor != "b" {
		t.Fatalf("probed %+v", disk.Slices)
	}
}

// An x86 VTOC with zero geometry is refused, as cmlb_uselabel does.
func TestVTOC16ZeroGeometry(t *testing.T) {
	disk := make(memDisk, 1<<20)
	lab := x86Label([]vtocPart{{tag: 4, start: 16, size: 1024}})
	binary.LittleEndian.PutUint32(lab[472:], 0)
	xorFix(lab)
	copy(disk[512:], lab)
	if _, err := ReadPartitionTable(disk, int64(len(disk))); err == nil || !strings.Contains(err.Error(), "zero nhead") {
		t.Fatalf("%v", err)
	}
}
