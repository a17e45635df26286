// Package bootchecktest builds kernel zone boot disk images for tests: a
// GPT and, in chosen slices (several, or none: what bootdisk.WriteImage
// does not make), the four ZFS vdev labels of a pool, written by
// bootdisk.WriteLabels (docs/platform/zfs-label.md).
package bootchecktest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/volctl/volctl/internal/bootdisk"
	"github.com/volctl/volctl/sim"
)

// Pool is one pool's label in one slice.
type Pool struct {
	Slice    int // GPT entry: 1 is slice b, where a kernel zone's rpool is
	Name     string
	GUID     uint64
	TXG      uint64
	HostID   uint64 // 0: no hostid in the label
	Hostname string
	// The leaf: its guid (the label's guid unless LabelGUID is set),
	// path, phys_path, devid.
	LeafGUID  uint64
	LabelGUID uint64
	Path      string
	PhysPath  string
	DevID     string
}

// Image is a disk: its size and the pools in its slices (none: a GPT
// without labels). Garbage writes no partition table at all.
type Image struct {
	Size    int64
	Pools   []Pool
	Garbage bool
}

// KZ1 is a kernel zone's root pool label as the zone itself writes it:
// phys_path /zvnex/zvblk@0:b.
func KZ1(physPath string) Pool {
	return Pool{Slice: 1, Name: "rpool", GUID: 0x1b2c3d4e5f607182, TXG: 4242, HostID: 0x8a0c3b11, Hostname: "kz1",
		LeafGUID: 0x42, Path: "/dev/dsk/c1d0s1", PhysPath: physPath, DevID: "id1,kdev@A000_0/b"}
}

// GlobalPath is kz1's pool after an import in a global zone (the issue's
// example: the LU's GUID after g).
const GlobalPath = "/scsi_vhci/disk@g600144f0a613c900000054521d550001:b"

// Write writes the image to path (a sparse file of img.Size bytes).
func Write(path string, img Image) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Truncate(img.Size); err != nil {
		return err
	}
	if img.Garbage {
		_, err := f.WriteAt(bytes.Repeat([]byte("not a disk label "), 4096), 0)
		return err
	}
	// Slice a: EFI system (LBA 256..4095); slice b: EFI_USR from LBA 4096
	// to the reserved slice i (8 MiB at the end), as docs/platform/zfs-label.md §4.3.
	last := uint64(img.Size/512 - 1)
	resv := last - 33 - 16384
	parts := []gptPart{
		{0, "c12a7328-f81f-11d2-ba4b-00a0c93ec93b", 256, 4095, "boot"},
		{1, "6a898cc3-1dd2-11b2-99a6-080020736631", 4096, resv - 1, "zfs"},
		{8, "6a945a3b-1dd2-11b2-99a6-080020736631", resv, last - 34, ""},
	}
	if err := writeGPT(f, img.Size, parts); err != nil {
		return err
	}
	for _, p := range img.Pools {
		var s *gptPart
		for i := range parts {
			if parts[i].index == p.Slice {
				s = &parts[i]
			}
		}
		if s == nil {
			return fmt.Errorf("no slice %d", p.Slice)
		}
		base, size := int64(s.first)*512, int64(s.end-s.first+1)*512
		if err := bootdisk.WriteLabels(f, base, size, config(p)); err != nil {
			return err
		}
	}
	return nil
}

type gptPart struct {
	index      int
	typ        string
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

// writeGPT writes a protective MBR, the primary GPT and the backup, as
// the UEFI specification lays them out, 512-byte sectors.
func writeGPT(w io.WriterAt, size int64, parts []gptPart) error {
	const ss = 512
	last := uint64(size/ss - 1)
	ents := make([]byte, 128*128)
	for _, p := range parts {
		e := ents[p.index*128:]
		copy(e, guidBytes(p.typ))
		copy(e[16:], guidBytes(fmt.Sprintf("%08x-0000-4000-8000-%012x", 0x5eed0000+p.index, p.index+1)))
		binary.LittleEndian.PutUint64(e[32:], p.first)
		binary.LittleEndian.PutUint64(e[40:], p.end)
		for i, c := range p.name {
			binary.LittleEndian.PutUint16(e[56+2*i:], uint16(c))
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
		copy(h[56:], guidBytes("0b00c1a5-0000-4000-8000-000000000001"))
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
	for _, wr := range []struct {
		b   []byte
		off int64
	}{{mbr, 0}, {header(1, last, 2), ss}, {ents, 2 * ss}, {ents, int64(last-32) * ss}, {header(last, 1, last-32), int64(last) * ss}} {
		if _, err := w.WriteAt(wr.b, wr.off); err != nil {
			return err
		}
	}
	return nil
}

// config is p as bootdisk's writer takes it: one disk leaf, an exported
// pool (the labels are written by bootdisk.WriteLabels, as ZFS lays them
// out).
func config(p Pool) *bootdisk.Config {
	label := p.LabelGUID
	if label == 0 {
		label = p.LeafGUID
	}
	return &bootdisk.Config{Name: p.Name, PoolGUID: p.GUID, TXG: p.TXG, Version: 37, State: 1,
		HostID: p.HostID, HasHostID: p.HostID != 0, Hostname: p.Hostname, TopGUID: label, GUID: label,
		Tree: &bootdisk.Vdev{Type: "disk", GUID: p.LeafGUID, Path: p.Path, PhysPath: p.PhysPath, DevID: p.DevID}}
}

// SimDir is the zvol device directory of a simulated host at root:
// SIMROOT/dev/zvol/rdsk.
func SimDir(root string) string { return filepath.Join(root, "dev", "zvol", "rdsk") }

// EnsureSimImages writes, for every volume of the simulated host at root
// that has no device image yet, one whose root pool label is a kernel
// zone's own (slice b, the id of the kernel zone device that names the
// volume's LU, 0 for none): a host on which every kernel zone would boot.
// A simulator that writes its own images (issue 23) leaves nothing for it
// to do.
func EnsureSimImages(root string) error {
	st, err := sim.Load(root)
	if err != nil {
		return err
	}
	ids := map[string]int{} // volume -> device id
	for _, z := range st.Zones {
		for _, dev := range z.Devices {
			for guid, lu := range st.LUs {
				if strings.Contains(strings.ToUpper(dev.Storage), "LUNAME.NAA."+guid) {
					ids[strings.TrimPrefix(lu.DataFile, "/dev/zvol/rdsk/")] = dev.ID
				}
			}
		}
	}
	for _, d := range st.Datasets {
		if d.Type != "volume" || d.Volsize < 32<<20 {
			continue
		}
		p := filepath.Join(SimDir(root), d.Name)
		if _, err := os.Stat(p); err == nil {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		pool := KZ1(fmt.Sprintf("/zvnex/zvblk@%d:b", ids[d.Name]))
		pool.LeafGUID += uint64(ids[d.Name]) // a mirror's halves are two leaves
		if err := Write(p, Image{Size: int64(d.Volsize), Pools: []Pool{pool}}); err != nil {
			return err
		}
	}
	return nil
}
