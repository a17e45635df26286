package sim

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The ZFS label of the root pool on a kernel zone's boot disk, as the
// simulator models it (docs/platform/kz-boot.md in the repository): who
// last imported the pool writes its own view of the disk into the label
// (path, phys_path, devid, hostid, hostname, txg), and a kernel zone boots
// only from a label whose phys_path is the path its virtual disk has
// inside the zone (/zvnex/zvblk@ID:b, §2). The label lives with the
// volume's content: a snapshot keeps it, a rollback or clone brings it
// back (zfs.go, clone.go).

// Pool states as a label names them (sys/fs/zfs.h pool_state_t).
const (
	PoolActive   = "ACTIVE"
	PoolExported = "EXPORTED"
)

// BootLabel is the config nvlist of the four vdev labels of the pool on a
// volume, with the one leaf vdev (a disk) it describes.
type BootLabel struct {
	Pool     string `json:"pool"`      // ZPOOL_CONFIG_POOL_NAME: the on-disk name
	PoolGUID uint64 `json:"pool_guid"` // ZPOOL_CONFIG_POOL_GUID
	TXG      uint64 `json:"txg"`       // txg the label was last written in
	HostID   uint64 `json:"hostid"`    // ZPOOL_CONFIG_HOSTID: last importer's hostid
	Hostname string `json:"hostname"`  // ZPOOL_CONFIG_HOSTNAME
	State    string `json:"state"`     // PoolActive or PoolExported
	// Time is the uberblock timestamp (unix seconds) zpool import prints
	// as "last accessed ... on"; not part of the label's nvlist.
	Time int64    `json:"time"`
	Vdev LeafVdev `json:"vdev"`
}

// LeafVdev is the label's vdev_tree: one disk.
type LeafVdev struct {
	GUID     uint64 `json:"guid"`
	Path     string `json:"path"`
	PhysPath string `json:"phys_path"`
	DevID    string `json:"devid"`
}

// PoolImport records who has a volume's pool imported now: the global zone
// ("global") or a kernel zone (its name), on the host with HostID, under
// the in-core Name (a -t temporary name or a new name), with Altroot.
type PoolImport struct {
	By      string `json:"by"`
	HostID  string `json:"hostid"`
	Name    string `json:"name"`
	Altroot string `json:"altroot,omitempty"`
}

func (l *BootLabel) clone() *BootLabel {
	if l == nil {
		return nil
	}
	c := *l
	return &c
}

// KZPhysPath is the phys_path a kernel zone's virtual disk with device id
// id has inside the zone, slice 1 (minor b): what its kernel opens to
// import the root pool at boot (kz-boot.md §2).
func KZPhysPath(id int) string { return fmt.Sprintf("/zvnex/zvblk@%d:b", id) }

// kzDiskPath and kzDevID are the path and devid a kernel zone's disk id
// has inside the zone [UNV: kz-boot.md §2].
func kzDiskPath(id int) string { return fmt.Sprintf("/dev/dsk/c1d%ds1", id) }
func kzDevID(id int) string    { return fmt.Sprintf("id1,kdev@A%03d/b", id) }

// VhciPhysPath is the phys_path of slice 1 of the multipathed disk of LU
// guid as a global zone sees it (kz-boot.md §3).
func VhciPhysPath(guid string) string {
	return "/scsi_vhci/disk@g" + strings.ToLower(guid) + ":b"
}

// vhciDiskPath is the global zone's /dev/dsk name of slice 1 of the LU's
// disk; vhciDevID its devid (kz-boot.md §3).
func vhciDiskPath(guid string) string { return "/dev/dsk/c0t" + strings.ToUpper(guid) + "d0s1" }
func vhciDevID(guid string) string    { return "id1,sd@n" + strings.ToLower(guid) + "/b" }

// hostidNum reads a hostid as hostid(1) or zonecfg print it (8 hex
// digits, "0x" optional).
func hostidNum(h string) (uint64, bool) {
	n, err := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(h), "0x"), 16, 32)
	return n, err == nil
}

// zoneHostID is the hostid a kernel zone's kernel has: its zonecfg hostid,
// else one derived from its name (a real kernel zone without one gets a
// random hostid at install [UNV]).
func (z *Zone) zoneHostID() uint64 {
	if n, ok := hostidNum(z.HostID); ok {
		return n
	}
	var h uint64 = 0x2a000000
	for _, c := range z.Name {
		h = (h*31 + uint64(c)) & 0xffffffff
	}
	return h
}

// writeLabel is what an import (or a zone's boot) writes: the importer's
// view of the disk and identity, the pool ACTIVE, one txg later.
func (l *BootLabel) writeImport(path, phys, devid string, hostid uint64, hostname string) {
	l.Vdev.Path, l.Vdev.PhysPath, l.Vdev.DevID = path, phys, devid
	l.HostID, l.Hostname = hostid, hostname
	l.State = PoolActive
	l.TXG++
	l.Time = time.Now().Unix()
}

// writeExport marks the pool exported, one txg later.
func (l *BootLabel) writeExport() {
	l.State = PoolExported
	l.TXG++
	l.Time = time.Now().Unix()
}

// seedLabel is a correct label of a kernel zone root pool on device id:
// written by the zone itself (hostid, hostname), the pool ACTIVE (a zone
// that halts does not export its root pool).
func seedLabel(z *Zone, id int, poolGUID, vdevGUID, txg uint64, at int64) *BootLabel {
	return &BootLabel{
		Pool: "rpool", PoolGUID: poolGUID, TXG: txg, HostID: z.zoneHostID(), Hostname: z.Name,
		State: PoolActive, Time: at,
		Vdev: LeafVdev{GUID: vdevGUID, Path: kzDiskPath(id), PhysPath: KZPhysPath(id), DevID: kzDevID(id)},
	}
}
