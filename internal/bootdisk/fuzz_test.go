package bootdisk

import (
	"encoding/binary"
	"os"
	"reflect"
	"strings"
	"testing"
)

// The committed packed nvlists of the golden images' label 0 (zfs-fuse's),
// seeds for the fuzz targets; TestGoldenLabelSeed keeps them in step.
const (
	goldenNvlist       = "testdata/gpt-zfsfuse-label0.nvlist"
	goldenMirrorNvlist = "testdata/gpt-zfsfuse-mirror-label0.nvlist"
)

func seedNvlists(f *testing.F) [][]byte {
	b, err := os.ReadFile(goldenNvlist)
	if err != nil {
		f.Fatal(err)
	}
	m, err := os.ReadFile(goldenMirrorNvlist)
	if err != nil {
		f.Fatal(err)
	}
	return [][]byte{b, m, packXDR(poolConfig("rpool", 5, "/zvnex/zvblk@0:b")), packXDR(nil), {1, 1, 0, 0}}
}

func FuzzXDRNvlist(f *testing.F) {
	for _, s := range seedNvlists(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		l, n, err := DecodeXDR(b)
		if err != nil {
			return
		}
		if n < 4 || n > len(b) || l == nil {
			t.Fatalf("consumed %d of %d", n, len(b))
		}
		// Decoding what was consumed gives the same.
		if _, n2, err := DecodeXDR(b[:n]); err != nil || n2 != n {
			t.Fatalf("re-decoding the consumed prefix: %d, %v", n2, err)
		}
		if c, err := configFrom(l); err == nil && c.Tree == nil {
			t.Fatal("config without a tree")
		}
		// What decodes encodes back to the same list (the types ZFS
		// writes; the encoder refuses the others).
		enc, err := EncodeXDR(l)
		if err != nil {
			if !strings.Contains(err.Error(), "is not supported") {
				t.Fatalf("decoded but not encodable: %v", err)
			}
			return
		}
		l2, n2, err := DecodeXDR(enc)
		if err != nil || n2 != len(enc) || !reflect.DeepEqual(l, l2) {
			t.Fatalf("re-decoding the encoding: %d of %d, %v", n2, len(enc), err)
		}
	})
}

// fuzzDisk is a sparse disk: head at 0, tail at the end.
func fuzzDisk(head, tail []byte, size uint64) *sparseDisk {
	sz := int64(size % (1 << 40))
	sz = max(sz, int64(len(head)+len(tail)))
	return &sparseDisk{size: sz, parts: []sparsePart{{0, head}, {sz - int64(len(tail)), tail}}}
}

func FuzzPartitionTable(f *testing.F) {
	// A GPT as writeGPT lays it out, its head and tail.
	g := &sparseDisk{size: 64 << 20}
	writeGPT(g, g.size, "0b00d15c-0000-4000-8000-00000000b001", []gptPart{
		{index: 1, typ: "6a898cc3-1dd2-11b2-99a6-080020736631", first: 2048, end: 100000, name: "zfs"},
	})
	var head, tail []byte
	for _, p := range g.parts {
		if p.off < 1<<20 {
			buf := make([]byte, 34*512)
			_, _ = g.ReadAt(buf, 0)
			head = buf
		} else {
			buf := make([]byte, 33*512)
			_, _ = g.ReadAt(buf, g.size-int64(len(buf)))
			tail = buf
		}
	}
	f.Add(head, tail, uint64(g.size))
	var parts [8]vtocPart
	parts[1] = vtocPart{tag: 4, start: 256, size: 8192}
	parts[2] = vtocPart{tag: 5, start: 0, size: 16384}
	f.Add(sparcLabel(1, 128, 128, parts), []byte{}, uint64(16384*512))
	mbr := make([]byte, 1024)
	mbr[446+4] = 0xbf
	binary.LittleEndian.PutUint32(mbr[446+8:], 1)
	binary.LittleEndian.PutUint32(mbr[446+12:], 16000)
	mbr[510], mbr[511] = 0x55, 0xaa
	mbr = append(mbr, x86Label([]vtocPart{{tag: 4, start: 16, size: 8192}})...)
	f.Add(mbr, []byte{}, uint64(16384*512))
	f.Add([]byte{}, []byte{}, uint64(0))
	f.Fuzz(func(t *testing.T, head, tail []byte, size uint64) {
		d := fuzzDisk(head, tail, size)
		pt, err := ReadPartitionTable(d, d.size)
		if err != nil {
			return
		}
		for _, s := range pt.Slices {
			if s.Start < 0 || s.Size <= 0 || s.Start+s.Size > d.size {
				t.Fatalf("slice %+v outside a disk of %d", s, d.size)
			}
		}
		if len(pt.Slices) > maxGPTEntries {
			t.Fatalf("%d slices", len(pt.Slices))
		}
		if _, err := ReadDisk(d, d.size); err != nil {
			t.Fatalf("table read, disk not: %v", err)
		}
	})
}

func FuzzReadLabels(f *testing.F) {
	for i, s := range seedNvlists(f) {
		f.Add(s, uint64(64<<20), uint16(i*1000), uint8(i))
	}
	f.Fuzz(func(t *testing.T, packed []byte, size uint64, flip uint16, mode uint8) {
		if len(packed) > physSize-eckSize {
			return
		}
		d := &sparseDisk{size: minLabelDisk + int64(size%(1<<36))}
		// L0 and L1 little-endian, L2 big-endian, L3 with one byte
		// flipped after checksumming (mode picks which labels exist).
		for l := 0; l < NumLabels; l++ {
			if mode&(1<<l) != 0 {
				continue
			}
			order := binary.ByteOrder(binary.LittleEndian)
			if l == 2 {
				order = binary.BigEndian
			}
			off := LabelOffset(d.size, l) + physOffset
			blk := physBlock(packed, uint64(off), order)
			if l == 3 {
				blk[int(flip)%physSize] ^= 0x5a
			}
			_, _ = d.WriteAt(blk, off)
		}
		ls, err := ReadLabels(d, d.size)
		if err != nil {
			t.Fatal(err)
		}
		if ls.Best < -1 || ls.Best >= NumLabels {
			t.Fatalf("best %d", ls.Best)
		}
		for _, l := range ls.Labels {
			if (l.Err == nil) == (l.Config == nil) {
				t.Fatalf("L%d: err %v config %v", l.Index, l.Err, l.Config)
			}
			if mode&(1<<l.Index) != 0 && l.Err == nil {
				t.Fatalf("L%d valid on a blank disk", l.Index)
			}
		}
		if l3 := ls.Labels[3]; mode&8 == 0 && l3.Err == nil {
			t.Fatalf("L3 with a flipped byte read as valid")
		}
		if ls.Best >= 0 {
			found := false
			for _, a := range ls.Agree {
				found = found || a == ls.Best
			}
			if !found {
				t.Fatalf("agree %v without best %d", ls.Agree, ls.Best)
			}
		}
	})
}
