package bootcheck

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/volctl/volctl/daemon/zones"
)

// Report is check-boot's answer for one kernel zone: its state when read
// (the label is only certain while the zone is not running: a running
// guest's pool may rewrite it under the reader), and each boot disk.
type Report struct {
	Zone  string
	Host  string // the peer the zone is on; "" for this host
	State string
	Brand string
	Disks []Disk
}

// Disk is one boot device of the zone, the volume behind it and what its
// label says (Err when it could not be read: never a verdict).
type Disk struct {
	Device zones.Device
	Volume string
	Path   string // the raw device read
	Result Result
	Err    error
}

// Boots reports whether every boot disk was read and carries the kernel
// zone's path.
func (r Report) Boots() bool {
	if len(r.Disks) == 0 {
		return false
	}
	for _, d := range r.Disks {
		if d.Err != nil || !d.Result.Boots {
			return false
		}
	}
	return true
}

// Verdict is one line: the zone will boot, or why not, or why volctl
// cannot tell.
func (r Report) Verdict() string {
	if r.Boots() {
		return fmt.Sprintf("%s will boot: its root pool's label says phys_path %s, the kernel zone's path", r.Zone, r.Disks[0].Result.PhysPath)
	}
	var why []string
	for _, d := range r.Disks {
		switch {
		case d.Err != nil:
			why = append(why, fmt.Sprintf("%s cannot be checked: boot device %d (%s): %v", r.Zone, d.Device.ID, d.Volume, d.Err))
		case !d.Result.Boots:
			p := d.Result.Problem(r.Zone)
			if len(r.Disks) > 1 {
				p += fmt.Sprintf(" (boot device %d, %s)", d.Device.ID, d.Volume)
			}
			why = append(why, p)
		}
	}
	if len(why) == 0 {
		return r.Zone + " has no boot disk to check"
	}
	return strings.Join(why, "; ")
}

// Advice is what to do when the zone will not boot ("" when it will, or
// when a disk could not be read: then the error says what to fix).
func (r Report) Advice() string {
	for _, d := range r.Disks {
		if d.Err == nil && !d.Result.Boots {
			return Remedy(r.Zone)
		}
	}
	return ""
}

// BootDevices are a kernel zone's boot devices, in boot order: the
// devices with a bootpri, sorted by bootpri then id (several make a
// mirrored root pool); when none has one, the device with id 0, the
// default boot device (docs/platform/kz-boot-path.md §1). A boot device
// without an id is an error: its path in the zone cannot be told.
func BootDevices(devs []zones.Device) ([]zones.Device, error) {
	var boot []zones.Device
	for _, d := range devs {
		if d.BootPri >= 0 {
			boot = append(boot, d)
		}
	}
	if len(boot) == 0 {
		for _, d := range devs {
			if d.ID == 0 {
				boot = append(boot, d)
			}
		}
	}
	if len(boot) == 0 {
		return nil, fmt.Errorf("no device has a bootpri and none has id 0: volctl cannot tell which disk the zone boots from")
	}
	slices.SortStableFunc(boot, func(a, b zones.Device) int {
		return cmp.Or(cmp.Compare(a.BootPri, b.BootPri), cmp.Compare(a.ID, b.ID))
	})
	for _, d := range boot {
		if d.ID < 0 {
			return nil, fmt.Errorf("boot device %s (bootpri %d) has no id: the path the zone opens it by cannot be told", d.Storage, d.BootPri)
		}
	}
	return boot, nil
}
