package sim

import "fmt"

// A kernel zone's boot reads its root pool's label (docs/platform/kz-boot.md
// §4): the zone's kernel opens the pool's disk by the label's phys_path,
// which must be the path its boot device has inside the zone,
// /zvnex/zvblk@ID:b. A label written by another importer (the global zone:
// /scsi_vhci/disk@g<GUID>:b) makes a real kernel zone panic at boot and
// reboot in a loop (the account); the simulated zoneadm boot fails
// instead, with an error that names both paths, and the zone stays
// installed. A boot volume without a label (the simulator models none
// there) boots as before.

// bootRootPool checks the label on the zone's boot volume disk and, when
// the zone can boot from it, writes it as the zone's kernel does when it
// imports its root pool (its hostid and hostname, one txg later) and
// records the pool as imported by the zone. It returns 0 or the exit
// status after printing the error.
func (e *env) bootRootPool(z *Zone, disk *Dataset) int {
	l := disk.Label
	dev := z.bootDevice()
	if l == nil || dev == nil {
		return 0
	}
	want := KZPhysPath(dev.ID)
	if im := disk.Imported; im != nil && !(im.By == z.Name && im.HostID == e.s.HostID) {
		// (A record of this zone's own last run, the zone not running now,
		// is stale: a zone that went down has nothing imported.)
		who := "the global zone"
		if im.By != "global" {
			who = "zone " + im.By
		}
		return brandErr(e, z,
			fmt.Sprintf("boot device id %d: root pool '%s' is imported by %s (as '%s'); export it first", dev.ID, l.Pool, who, im.Name))
	}
	for _, d := range z.Devices {
		// [UNV] what zoneadm prints for a device another running kernel
		// zone has (kz-boot.md §4).
		if who := e.inUseByZone(e.deviceDisk(d), z.Name); who != "" {
			return brandErr(e, z, fmt.Sprintf("device id %d: its volume is in use by %s", d.ID, who))
		}
	}
	if l.Vdev.PhysPath != want {
		return brandErr(e, z,
			fmt.Sprintf("boot device id %d: root pool '%s' has phys_path '%s' in its label; the zone boots it from '%s'", dev.ID, l.Pool, l.Vdev.PhysPath, want),
			fmt.Sprintf("the pool was last imported by '%s' (hostid 0x%08x): the zone's kernel cannot open its root pool (a real kernel zone panics and reboots in a loop)", l.Hostname, l.HostID),
			fmt.Sprintf("import and export the pool in a kernel zone that has this disk as device id %d to repair it", dev.ID),
		)
	}
	l.writeImport(kzDiskPath(dev.ID), want, kzDevID(dev.ID), z.zoneHostID(), z.Name)
	disk.Imported = &PoolImport{By: z.Name, HostID: e.s.HostID, Name: l.Pool}
	return 0
}

// releasePools forgets what a zone that stops had imported: its root pool
// and any pool imported inside it (zlogin) and not exported. Their labels
// stay as last written (ACTIVE: a zone that goes down does not export).
func (e *env) releasePools(z *Zone) {
	for _, dev := range z.Devices {
		d := e.deviceDisk(dev)
		if d == nil || d.Imported == nil {
			continue
		}
		if d.Imported.By == z.Name && d.Imported.HostID == e.s.HostID {
			d.Imported = nil
		}
	}
}
