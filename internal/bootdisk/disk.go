// Package bootdisk reads, read-only, a kernel zone's boot disk as the
// storage host sees it (the raw zvol): its partition table, the slice
// that holds the zone's root pool, and that slice's ZFS vdev labels, whose
// XDR-encoded nvlist names the pool, its GUID, the host that last imported
// it and the phys_path a booting kernel zone opens (issue 23;
// docs/platform/zfs-label.md). Every length and offset read from the disk
// is bounded: a hostile or corrupt disk gives an error, never a panic or a
// large allocation.
//
// It also writes such disks (WriteImage, RewriteLabels, EncodeXDR) for the
// simulator and tests; it lives under internal/ so that sim/ can import
// it, and imports nothing of volctl's.
package bootdisk

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// ErrNoPool is wrapped when no slice of a disk holds a valid ZFS label, or
// more than one does and the caller asked for the one.
var ErrNoPool = errors.New("no single ZFS pool slice")

// SliceLabels is one probed slice and what its labels say.
type SliceLabels struct {
	Slice  Slice
	Labels *Labels // Best is -1 when the slice holds no valid label
	Err    error   // set when the slice could not be probed at all
}

// Disk is what ReadDisk found.
type Disk struct {
	Table *PartitionTable
	// Slices are the probed slices in table order: every slice except a
	// VTOC backup slice (it overlaps all the others), the GPT reserved
	// slice and slices past p.
	Slices []SliceLabels
}

// ReadDisk reads the partition table of the disk r (size bytes), then the
// ZFS labels of each slice that may hold a pool.
func ReadDisk(r io.ReaderAt, size int64) (*Disk, error) {
	pt, err := ReadPartitionTable(r, size)
	if err != nil {
		return nil, err
	}
	d := &Disk{Table: pt}
	for _, s := range pt.Slices {
		if s.Minor == "" || (pt.Scheme != SchemeGPT && s.Tag == vtocBackup) || s.TypeName == "solaris-reserved" {
			continue
		}
		sl := SliceLabels{Slice: s}
		sl.Labels, sl.Err = ReadLabels(io.NewSectionReader(r, s.Start, s.Size), s.Size)
		d.Slices = append(d.Slices, sl)
	}
	return d, nil
}

// Pool returns the one slice that holds a valid ZFS label. None, or more
// than one, is an error that lists what each slice gave: the caller must
// not guess which pool is the zone's.
func (d *Disk) Pool() (*SliceLabels, error) {
	var found []*SliceLabels
	var why []string
	for i := range d.Slices {
		sl := &d.Slices[i]
		switch {
		case sl.Err != nil:
			why = append(why, fmt.Sprintf("slice %s: %v", sl.Slice.Minor, sl.Err))
		case sl.Labels.Best < 0:
			_, err := sl.Labels.Config()
			why = append(why, fmt.Sprintf("slice %s: %v", sl.Slice.Minor, err))
		default:
			found = append(found, sl)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		if len(why) == 0 {
			why = append(why, "the table has no slice to probe")
		}
		return nil, fmt.Errorf("%w: %s table: %s", ErrNoPool, d.Table.Scheme, strings.Join(why, "; "))
	default:
		var names []string
		for _, f := range found {
			c := f.Labels.Labels[f.Labels.Best].Config
			names = append(names, fmt.Sprintf("slice %s: pool %q", f.Slice.Minor, c.Name))
		}
		return nil, fmt.Errorf("%w: %d slices hold ZFS labels (%s)", ErrNoPool, len(found), strings.Join(names, ", "))
	}
}
