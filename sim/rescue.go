package sim

import (
	"fmt"
	"io"
	"strings"
)

// The rescue scenario of issue 23 (docs/platform/kz-boot.md): a second
// kernel zone, kzrescue, whose own boot disk has device id 1, so that kz1's
// boot disk can be added to it as device id 0; and the knob that breaks
// kz1's boot path as the admin's import in the global zone did.

// Rescue zone identities, fixed so tests and the demo can name them.
const (
	RescueZone       = "kzrescue"
	RescueZvol       = "pool/kzrescue0" // on a host with the seed's pool
	RescueZoneHostID = "0x1b6c4e02"
	// RescueZoneHostZvol is kzrescue's boot volume on the zone host of
	// SeedTwoHosts, which has no pool: the global zone's root pool rpool
	// is created for it.
	RescueZoneHostZvol       = "rpool/kzrescue0"
	RescuePoolGUID           = uint64(1190724685315468802)
	RescueVdevGUID           = uint64(8011430957046162497)
	rescueUUID               = "7c1e5a0d-3b4f-4e2a-9d61-52b0c8f3a417"
	rescueVolsize      int64 = 1073741824
)

// AddRescueZone adds kzrescue to a Solaris host: a solaris-kz zone,
// installed, whose boot device (id=1, bootpri 0) is a new volume (no LU:
// storage dev:/dev/zvol/dsk/VOL): RescueZvol on a host with the seed's
// pool, else RescueZoneHostZvol (the zone host of SeedTwoHosts), with host
// data for its key and a correct label (phys_path /zvnex/zvblk@1:b).
func AddRescueZone(root string) error {
	return Update(root, func(s *State) error {
		if !s.kernelZones() {
			return fmt.Errorf("add %s: %s has no kernel zones", RescueZone, s.flavor())
		}
		vol := RescueZvol
		pool, _, _ := strings.Cut(vol, "/")
		if s.Dataset(pool) == nil {
			vol = RescueZoneHostZvol
			pool, _, _ = strings.Cut(vol, "/")
		}
		if s.Zone(RescueZone) != nil || s.Dataset(vol) != nil {
			return fmt.Errorf("add %s: zone or %s already there", RescueZone, vol)
		}
		now := s.now()
		if s.Dataset(pool) == nil {
			s.Datasets = append(s.Datasets, &Dataset{Name: pool, Type: "filesystem", Creation: now, CreateTxg: s.txg()})
			s.History = append(s.History, HistoryRecord{Time: now, Pool: pool, Cmd: "zpool create " + pool + " c0t0d0"})
		}
		zero := 0
		z := &Zone{
			Name: RescueZone, Brand: "solaris-kz", IPType: "excl", UUID: rescueUUID,
			State: ZoneInstalled, HostID: RescueZoneHostID,
			Key:     fmt.Sprintf("key-%d", s.NextKey),
			Devices: []*ZoneDevice{{ID: 1, BootPri: &zero, Storage: "dev:/dev/zvol/dsk/" + vol}},
		}
		s.NextKey++
		d := &Dataset{Name: vol, Type: "volume", Creation: now, CreateTxg: s.txg(), Volsize: rescueVolsize,
			Data: []byte("kzrescue minimal install")}
		s.stampHostData(d, z.Key, ZoneInstalled)
		d.Label = seedLabel(z, 1, RescuePoolGUID, RescueVdevGUID, 97, now)
		s.Datasets = append(s.Datasets, d)
		s.Zones = append(s.Zones, z)
		s.History = append(s.History, HistoryRecord{Time: now, Pool: pool, Cmd: "zfs create -V 1G " + vol})
		return nil
	})
}

// BreakBoot does to a kernel zone's boot disk what the admin did: `zpool
// import -f -t TEMP POOL` then `zpool export TEMP` in the global zone, so
// the label carries the global zone's path, phys_path, hostid and
// hostname, exported. It runs the simulated zpool itself (so the import is
// refused exactly as zpool refuses it) and prints what it ran.
func BreakBoot(root, zone string, stdout, stderr io.Writer) error {
	s, err := Load(root)
	if err != nil {
		return err
	}
	z := s.Zone(zone)
	if z == nil {
		return fmt.Errorf("break-boot: zone %s: not configured", zone)
	}
	e := &env{s: s, root: root}
	disk := e.bootDisk(z)
	if err := e.closePeers(); err != nil {
		return err
	}
	if disk == nil || disk.Label == nil {
		return fmt.Errorf("break-boot: zone %s: no labelled boot disk reachable from this host", zone)
	}
	temp := zone + "boot"
	for _, argv := range [][]string{
		{"zpool", "import", "-N", "-f", "-t", temp, fmt.Sprint(disk.Label.PoolGUID)},
		{"zpool", "export", temp},
	} {
		fmt.Fprintf(stdout, "# %s\n", strings.Join(argv, " "))
		if code := runPlatform(root, "zpool", argv, stdout, stderr, false); code != 0 {
			return fmt.Errorf("break-boot: %s: exit %d", strings.Join(argv, " "), code)
		}
	}
	return nil
}
