package bootdisk

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// The ZFS vdev labels (docs/platform/zfs-label.md §2): four copies of a
// 256 KiB vdev_label_t, two at the start of the device and two at its end
// rounded down to 256 KiB (illumos uts/common/fs/zfs/vdev_label.c
// vdev_label_offset). In each, the 112 KiB vdev_phys_t at 16 KiB holds the
// packed nvlist, then a 40-byte zio_eck_t (magic + SHA-256) that
// vdev_label_read_config checks before it unpacks. Uberblocks are not read.
const (
	LabelSize    = 256 << 10 // sizeof (vdev_label_t)
	NumLabels    = 4         // VDEV_LABELS
	physOffset   = 16 << 10  // offsetof (vdev_label_t, vl_vdev_phys)
	physSize     = 112 << 10 // VDEV_PHYS_SIZE
	eckSize      = 40        // sizeof (zio_eck_t): zec_magic + zec_cksum[4]
	zecMagic     = 0x0210da7ab10c7a11
	minLabelDisk = NumLabels * LabelSize
)

// ErrNoLabel is wrapped when no label of a device can be read whole.
var ErrNoLabel = errors.New("no valid ZFS label")

// Pool states (sys/fs/zfs.h pool_state_t), as zdb -l prints the number.
var poolStates = []string{"ACTIVE", "EXPORTED", "DESTROYED", "SPARE", "L2CACHE", "UNINITIALIZED", "UNAVAIL", "POTENTIALLY_ACTIVE"}

// StateName names a pool_state_t; an unknown number is shown as such.
func StateName(s uint64) string {
	if s < uint64(len(poolStates)) {
		return poolStates[s]
	}
	return fmt.Sprintf("state(%d)", s)
}

// Config is what a label says about its pool and this device. Absent
// optional fields are zero; HasHostID tells a hostid of 0 from none.
type Config struct {
	Name      string // ZPOOL_CONFIG_POOL_NAME "name"
	PoolGUID  uint64 // "pool_guid"
	TXG       uint64 // "txg": the txg the label was written in
	Version   uint64 // "version": the SPA version
	State     uint64 // "state" (pool_state_t)
	HostID    uint64 // "hostid": the host that last imported the pool
	HasHostID bool
	Hostname  string // "hostname"
	TopGUID   uint64 // "top_guid": this device's top-level vdev
	GUID      uint64 // "guid": this device
	// Tree is "vdev_tree": this device's top-level vdev with its children.
	Tree *Vdev
	// Raw is the whole decoded nvlist.
	Raw *Nvlist
}

// Vdev is one node of the vdev tree.
type Vdev struct {
	Type     string // "disk", "file", "mirror", "raidz", ...
	ID       uint64
	GUID     uint64
	Path     string // "path"
	PhysPath string // "phys_path": what a booting kernel opens
	DevID    string // "devid"
	Children []*Vdev
}

// Leaves returns the leaf vdevs under v (v itself when it has no children).
func (v *Vdev) Leaves() []*Vdev {
	if v == nil {
		return nil
	}
	if len(v.Children) == 0 {
		return []*Vdev{v}
	}
	var out []*Vdev
	for _, c := range v.Children {
		out = append(out, c.Leaves()...)
	}
	return out
}

// LabelRead is the outcome of reading one of the four labels.
type LabelRead struct {
	Index  int   // 0..3: L0, L1 at the start, L2, L3 at the end
	Offset int64 // of the label in the device, in bytes
	// Err says why the label is unreadable (nil when Config is set).
	Err error
	// BigEndian is the byte order of the host that wrote it (from the
	// checksum's magic).
	BigEndian bool
	Config    *Config
	packed    []byte // the packed nvlist, to compare copies
}

// Labels is the outcome of ReadLabels.
type Labels struct {
	// Size is the device size rounded down to 256 KiB (vdev_psize).
	Size   int64
	Labels [NumLabels]LabelRead
	// Best is the index of the valid label with the highest txg (the
	// lowest index on a tie), -1 when none is valid.
	Best int
	// Agree lists the valid labels whose packed nvlist is byte for byte
	// the best one's (Best included).
	Agree []int
}

// Config returns the best label's config, or ErrNoLabel with each label's
// reason.
func (ls *Labels) Config() (*Config, error) {
	if ls.Best < 0 {
		var why []string
		for _, l := range ls.Labels {
			why = append(why, fmt.Sprintf("L%d: %v", l.Index, l.Err))
		}
		return nil, fmt.Errorf("%w: %s", ErrNoLabel, joinSemi(why))
	}
	return ls.Labels[ls.Best].Config, nil
}

func joinSemi(s []string) string {
	var b bytes.Buffer
	for i, x := range s {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(x)
	}
	return b.String()
}

// LabelOffset is where label l (0..3) begins on a device of size bytes
// (vdev_label_offset with psize = size rounded down to 256 KiB).
func LabelOffset(size int64, l int) int64 {
	psize := size &^ (LabelSize - 1)
	off := int64(l) * LabelSize
	if l >= NumLabels/2 {
		off += psize - NumLabels*LabelSize
	}
	return off
}

// ReadLabels reads the four labels of the device r of size bytes (a slice,
// not the whole labelled disk: see ReadDisk). It fails only when the
// device is too small to hold labels or a read fails; an unreadable label
// is reported in its LabelRead, and Best is -1 when none is valid.
func ReadLabels(r io.ReaderAt, size int64) (*Labels, error) {
	if size < minLabelDisk {
		return nil, fmt.Errorf("%w: device of %d bytes is smaller than the four 256 KiB labels", ErrNoLabel, size)
	}
	ls := &Labels{Size: size &^ (LabelSize - 1), Best: -1}
	buf := make([]byte, physSize)
	for l := 0; l < NumLabels; l++ {
		off := LabelOffset(size, l)
		lr := &ls.Labels[l]
		lr.Index, lr.Offset = l, off
		if err := readFull(r, buf, off+physOffset); err != nil {
			return nil, fmt.Errorf("label L%d at byte %d: %w", l, off, err)
		}
		lr.BigEndian, lr.Config, lr.packed, lr.Err = decodePhys(buf, uint64(off+physOffset))
		if lr.Err != nil {
			continue
		}
		if ls.Best < 0 || lr.Config.TXG > ls.Labels[ls.Best].Config.TXG {
			ls.Best = l
		}
	}
	if ls.Best >= 0 {
		for l := range ls.Labels {
			if ls.Labels[l].Err == nil && bytes.Equal(ls.Labels[l].packed, ls.Labels[ls.Best].packed) {
				ls.Agree = append(ls.Agree, l)
			}
		}
	}
	return ls, nil
}

// readFull reads len(buf) bytes at off; a short read is an error.
func readFull(r io.ReaderAt, buf []byte, off int64) error {
	n, err := r.ReadAt(buf, off)
	if n == len(buf) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("read %d bytes at %d: got %d: %w", len(buf), off, n, err)
}

// decodePhys checks one vdev_phys_t's embedded checksum and decodes its
// nvlist. physOff is the vdev_phys_t's offset in the device: the label
// checksum's verifier (zio_checksum_label_verifier).
func decodePhys(buf []byte, physOff uint64) (bigEndian bool, cfg *Config, packed []byte, err error) {
	if len(buf) != physSize {
		return false, nil, nil, fmt.Errorf("vdev_phys of %d bytes", len(buf))
	}
	eck := buf[physSize-eckSize:]
	var order binary.ByteOrder
	switch uint64(zecMagic) {
	case binary.LittleEndian.Uint64(eck):
		order = binary.LittleEndian
	case binary.BigEndian.Uint64(eck):
		order, bigEndian = binary.BigEndian, true
	default:
		if allZero(buf) {
			return false, nil, nil, errors.New("blank (all zeros)")
		}
		return false, nil, nil, fmt.Errorf("no checksum magic (found %#016x)", binary.LittleEndian.Uint64(eck))
	}
	// SHA-256 of the block with the verifier {offset, 0, 0, 0} in place
	// of the checksum, in the writer's byte order; the stored words are the
	// digest read as big-endian 64-bit words (zio_checksum_SHA256).
	tmp := append([]byte(nil), buf...)
	ck := tmp[physSize-32:]
	clear(ck)
	order.PutUint64(ck, physOff)
	sum := sha256.Sum256(tmp)
	for i := 0; i < 4; i++ {
		if order.Uint64(eck[8+8*i:]) != binary.BigEndian.Uint64(sum[8*i:]) {
			return bigEndian, nil, nil, errors.New("checksum mismatch (SHA-256 of vdev_phys with the label verifier)")
		}
	}
	nvl, n, err := DecodeXDR(buf[:physSize-eckSize])
	if err != nil {
		return bigEndian, nil, nil, err
	}
	cfg, err = configFrom(nvl)
	if err != nil {
		return bigEndian, nil, nil, err
	}
	// A copy: the caller reuses buf for the next label.
	return bigEndian, cfg, append([]byte(nil), buf[:n]...), nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// configFrom reads the fields of a pool label (the ZPOOL_CONFIG_* names of
// sys/fs/zfs.h). A label without a pool name, pool GUID, txg, guid or
// vdev tree (a spare's or a cache device's) is not a pool's.
func configFrom(nvl *Nvlist) (*Config, error) {
	c := &Config{Raw: nvl}
	var ok bool
	need := func(name string, v *uint64) error {
		if *v, ok = nvl.Uint64(name); !ok {
			return fmt.Errorf("label has no uint64 %q", name)
		}
		return nil
	}
	if c.Name, ok = nvl.Str("name"); !ok {
		return nil, errors.New(`label has no string "name" (not a pool member's label)`)
	}
	for _, f := range []struct {
		name string
		v    *uint64
	}{{"pool_guid", &c.PoolGUID}, {"txg", &c.TXG}, {"version", &c.Version}, {"state", &c.State}, {"guid", &c.GUID}, {"top_guid", &c.TopGUID}} {
		if err := need(f.name, f.v); err != nil {
			return nil, err
		}
	}
	c.HostID, c.HasHostID = nvl.Uint64("hostid")
	c.Hostname, _ = nvl.Str("hostname")
	tree, ok := nvl.List("vdev_tree")
	if !ok {
		return nil, errors.New(`label has no nvlist "vdev_tree"`)
	}
	var err error
	if c.Tree, err = vdevFrom(tree); err != nil {
		return nil, err
	}
	return c, nil
}

func vdevFrom(nvl *Nvlist) (*Vdev, error) {
	v := &Vdev{}
	var ok bool
	if v.Type, ok = nvl.Str("type"); !ok {
		return nil, errors.New(`vdev without a string "type"`)
	}
	if v.GUID, ok = nvl.Uint64("guid"); !ok {
		return nil, fmt.Errorf(`%s vdev without a uint64 "guid"`, v.Type)
	}
	v.ID, _ = nvl.Uint64("id")
	v.Path, _ = nvl.Str("path")
	v.PhysPath, _ = nvl.Str("phys_path")
	v.DevID, _ = nvl.Str("devid")
	if p, ok := nvl.Lookup("children"); ok {
		kids, ok := p.Value.([]*Nvlist)
		if !ok {
			return nil, fmt.Errorf(`%s vdev: "children" is %s, not nvlist[]`, v.Type, p.Type)
		}
		for _, k := range kids {
			c, err := vdevFrom(k)
			if err != nil {
				return nil, err
			}
			v.Children = append(v.Children, c)
		}
	}
	return v, nil
}
