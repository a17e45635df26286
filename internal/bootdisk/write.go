package bootdisk

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Building and rewriting kernel zone boot disk images, for the simulator
// and tests (docs/platform/zfs-label.md §7): the partition table the
// readers read, with the pool in slice 1 ("b"), and the four labels. Only
// the table and label regions are written: the image is meant to be a
// sparse file (or any io.WriterAt that reads back zeros elsewhere).

// ErrImage is wrapped by the writers' refusals.
var ErrImage = errors.New("boot disk image")

// Image describes an image to build.
type Image struct {
	// Size in bytes: at least MinImageSize; a VTOC image at most
	// MaxVTOCImageSize (32-bit sector numbers).
	Size int64
	// Scheme: SchemeGPT (the default), SchemeVTOC8 or SchemeVTOC16.
	Scheme Scheme
	// DiskGUID of a GPT image ("" for a fixed one).
	DiskGUID string
	// Config is what the labels say (Raw is ignored: see EncodeConfig).
	Config *Config
}

// Image bounds.
const (
	MinImageSize     = 8 << 20
	MaxVTOCImageSize = 1 << 40
	maxImageSize     = 1 << 50
)

// PoolSlice is the slice WriteImage puts the pool in: slice 1, minor "b",
// where a kernel zone's root pool is (docs/platform/zfs-label.md §1.3).
const PoolSlice = 1

// WriteImage writes img's partition table and the pool slice's four
// labels to w, and returns the pool slice.
func WriteImage(w io.WriterAt, img Image) (Slice, error) {
	if img.Size < MinImageSize || img.Size > maxImageSize {
		return Slice{}, fmt.Errorf("%w: size %d (want %d..%d)", ErrImage, img.Size, int64(MinImageSize), int64(maxImageSize))
	}
	if img.Config == nil {
		return Slice{}, fmt.Errorf("%w: no config", ErrImage)
	}
	var (
		sl  Slice
		err error
	)
	sectors := img.Size / vtocSector
	switch img.Scheme {
	case SchemeGPT, "":
		guid := img.DiskGUID
		if guid == "" {
			guid = "0b00d15c-0000-4000-8000-000000000001"
		}
		if _, err := parseGUID(guid); err != nil {
			return Slice{}, fmt.Errorf("%w: disk GUID: %v", ErrImage, err)
		}
		last := uint64(sectors - 1)
		end := last - 34
		parts := []gptPart{{index: 0, typ: "c12a7328-f81f-11d2-ba4b-00a0c93ec93b", first: 256, end: 2047, name: "boot"}}
		if img.Size >= 64<<20 {
			// The 8 MiB reserved slice 8 zpool and format add.
			parts = append(parts, gptPart{index: 8, typ: "6a945a3b-1dd2-11b2-99a6-080020736631", first: end - 16383, end: end})
			end -= 16384
		}
		parts = append(parts, gptPart{index: PoolSlice, typ: "6a898cc3-1dd2-11b2-99a6-080020736631", first: 2048, end: end, name: "zfs"})
		err = writeGPT(w, img.Size, guid, parts)
		sl = Slice{Index: PoolSlice, Minor: "b", Start: 2048 * 512, Size: int64(end-2048+1) * 512}
	case SchemeVTOC8:
		if img.Size > MaxVTOCImageSize {
			return Slice{}, fmt.Errorf("%w: a VTOC image of %d bytes (at most %d)", ErrImage, img.Size, int64(MaxVTOCImageSize))
		}
		// 64 KiB cylinders (1 head, 128 sectors), two alternates; slice
		// 1 from cylinder 16, slice 2 the backup slice.
		const nhead, nsect = 1, 128
		ncyl := uint32(sectors/(nhead*nsect)) - 2
		var parts [8]vtocPart
		parts[PoolSlice] = vtocPart{tag: 2, start: 16 * nhead * nsect, size: (ncyl - 16) * nhead * nsect}
		parts[2] = vtocPart{tag: vtocBackup, start: 0, size: ncyl * nhead * nsect}
		err = writeAll(w, []region{{0, sparcLabel(nhead, nsect, uint16(min(ncyl, 0xffff)), parts)}})
		sl = Slice{Index: PoolSlice, Minor: "b", Start: int64(parts[PoolSlice].start) * 512, Size: int64(parts[PoolSlice].size) * 512}
	case SchemeVTOC16:
		if img.Size > MaxVTOCImageSize {
			return Slice{}, fmt.Errorf("%w: a VTOC image of %d bytes (at most %d)", ErrImage, img.Size, int64(MaxVTOCImageSize))
		}
		// An MBR with one Solaris2 partition from sector 2048, its VTOC
		// in the partition's sector 1; slice 1 from the partition's
		// sector 1024, slice 2 the backup slice.
		const fstart = 2048
		fsize := uint32(sectors - fstart)
		mbr := make([]byte, 512)
		mbr[446+4] = 0xbf
		binary.LittleEndian.PutUint32(mbr[446+8:], fstart)
		binary.LittleEndian.PutUint32(mbr[446+12:], fsize)
		mbr[510], mbr[511] = 0x55, 0xaa
		pool := vtocPart{tag: 2, start: 1024, size: fsize - 1024}
		lab := x86Label([]vtocPart{{}, pool, {tag: vtocBackup, start: 0, size: fsize}})
		err = writeAll(w, []region{{0, mbr}, {(fstart + 1) * 512, lab}})
		sl = Slice{Index: PoolSlice, Minor: "b", Start: int64(fstart+pool.start) * 512, Size: int64(pool.size) * 512}
	default:
		return Slice{}, fmt.Errorf("%w: unknown scheme %q", ErrImage, img.Scheme)
	}
	if err != nil {
		return Slice{}, fmt.Errorf("%w: %v", ErrImage, err)
	}
	return sl, WriteLabels(w, sl.Start, sl.Size, img.Config)
}

// WriteLabels writes the four labels of the slice at start (size bytes)
// with c's config, little-endian (an x86 host's), checksummed for their
// places.
func WriteLabels(w io.WriterAt, start, size int64, c *Config) error {
	var asize uint64
	if usable := size &^ (LabelSize - 1); usable > vdevLabelStart+vdevLabelEnd {
		asize = uint64(usable - vdevLabelStart - vdevLabelEnd)
	}
	packed, err := EncodeConfig(c, asize)
	if err != nil {
		return err
	}
	return writeLabels(w, start, size, packed, binary.LittleEndian)
}

// The label areas at a leaf's start (two labels and the 3.5 MiB boot
// block) and end (two labels), which a vdev's asize leaves out
// (VDEV_LABEL_START_SIZE, VDEV_LABEL_END_SIZE, vdev_impl.h).
const (
	vdevLabelStart = 2*LabelSize + 7<<19
	vdevLabelEnd   = 2 * LabelSize
)

// ReadWriterAt is a disk image the simulator can rewrite in place.
type ReadWriterAt interface {
	io.ReaderAt
	io.WriterAt
}

// RewriteLabels reads the image's partition table, finds the one slice
// holding a pool (Disk.Pool) and rewrites its four labels with c: what a
// zpool import or export does to a label, as the simulator models it.
func RewriteLabels(rw ReadWriterAt, size int64, c *Config) error {
	d, err := ReadDisk(rw, size)
	if err != nil {
		return err
	}
	sl, err := d.Pool()
	if err != nil {
		return err
	}
	return WriteLabels(rw, sl.Slice.Start, sl.Slice.Size, c)
}

// EncodeConfig packs c as a label's nvlist, in the order and with the
// fields zfs-fuse writes (docs/platform/zfs-label.md §2.5), phys_path and
// devid where set; asize is the top-level vdev's. Fields the Config does
// not hold get fixed values (metaslab_array 23, metaslab_shift 24,
// ashift 9, is_log 0, whole_disk 0, create_txg 4).
func EncodeConfig(c *Config, asize uint64) ([]byte, error) {
	if c == nil || c.Tree == nil {
		return nil, fmt.Errorf("%w: a config needs a vdev tree", ErrImage)
	}
	if c.Name == "" {
		return nil, fmt.Errorf("%w: a config needs a pool name", ErrImage)
	}
	u := func(name string, v uint64) Pair { return Pair{Name: name, Type: TypeUint64, Value: v} }
	s := func(name, v string) Pair { return Pair{Name: name, Type: TypeString, Value: v} }
	top := []Pair{u("version", c.Version), s("name", c.Name), u("state", c.State), u("txg", c.TXG), u("pool_guid", c.PoolGUID)}
	if c.HasHostID {
		top = append(top, u("hostid", c.HostID))
	}
	if c.Hostname != "" {
		top = append(top, s("hostname", c.Hostname))
	}
	tree, err := vdevNvlist(c.Tree, asize, true, 0)
	if err != nil {
		return nil, err
	}
	top = append(top, u("top_guid", c.TopGUID), u("guid", c.GUID), u("vdev_children", 1),
		Pair{Name: "vdev_tree", Type: TypeNvlist, Value: tree})
	b, err := EncodeXDR(&Nvlist{Flags: 1, Pairs: top})
	if err != nil {
		return nil, err
	}
	if len(b) > physSize-eckSize {
		return nil, fmt.Errorf("%w: config of %d bytes does not fit a label (%d)", ErrImage, len(b), physSize-eckSize)
	}
	return b, nil
}

func vdevNvlist(v *Vdev, asize uint64, isTop bool, depth int) (*Nvlist, error) {
	if v == nil || v.Type == "" {
		return nil, fmt.Errorf("%w: a vdev without a type", ErrImage)
	}
	if depth > 4 {
		return nil, fmt.Errorf("%w: vdev tree deeper than 4", ErrImage)
	}
	u := func(name string, x uint64) Pair { return Pair{Name: name, Type: TypeUint64, Value: x} }
	s := func(name, x string) Pair { return Pair{Name: name, Type: TypeString, Value: x} }
	l := &Nvlist{Flags: 1, Pairs: []Pair{s("type", v.Type), u("id", v.ID), u("guid", v.GUID)}}
	for _, f := range []Pair{s("path", v.Path), s("devid", v.DevID), s("phys_path", v.PhysPath)} {
		if f.Value != "" {
			l.Pairs = append(l.Pairs, f)
		}
	}
	if len(v.Children) == 0 {
		l.Pairs = append(l.Pairs, u("whole_disk", 0))
	}
	if isTop {
		l.Pairs = append(l.Pairs, u("metaslab_array", 23), u("metaslab_shift", 24), u("ashift", 9), u("asize", asize), u("is_log", 0))
	}
	l.Pairs = append(l.Pairs, u("create_txg", 4))
	if len(v.Children) > 0 {
		var kids []*Nvlist
		for _, c := range v.Children {
			k, err := vdevNvlist(c, 0, false, depth+1)
			if err != nil {
				return nil, err
			}
			kids = append(kids, k)
		}
		l.Pairs = append(l.Pairs, Pair{Name: "children", Type: TypeNvlistArray, Value: kids})
	}
	return l, nil
}

// parseGUID checks a GUID's text form.
func parseGUID(s string) ([]byte, error) {
	var a uint32
	var c, d uint16
	var r1, r2 uint64
	if n, err := fmt.Sscanf(s, "%08x-%04x-%04x-%04x-%012x", &a, &c, &d, &r1, &r2); err != nil || n != 5 || len(s) != 36 {
		return nil, fmt.Errorf("%q is not a GUID", s)
	}
	return guidBytes(s), nil
}
