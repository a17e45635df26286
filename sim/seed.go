package sim

import (
	"fmt"
	"path/filepath"
)

// Seed identities, fixed so tests and the demo can name them.
const (
	SeedGUID0   = "600144F0A613C900000054521D550001" // LU on pool/idisk0 (kz1's boot disk)
	SeedGUID1   = "600144F0A613C900000054521D550002" // LU on pool/idisk1
	SeedZone    = "kz1"
	SeedZoneKey = "key-2"
	SeedKZUUID  = "29be88cb-e61a-4204-8d9b-f4a61bf0efdd"
	// SeedPoolGUID and SeedVdevGUID are the pool and disk GUIDs in the
	// label of kz1's root pool on pool/idisk0 (Solaris flavor only).
	SeedPoolGUID uint64 = 6853210471893427233
	SeedVdevGUID uint64 = 2114998235409741313
	seedTime            = 1700000000

	// SeedTargetA and SeedTargetB are the seed's iSCSI targets, the members
	// of target groups tg-a and tg-b.
	SeedTargetA = "iqn.1986-03.com.sun:02:tgt-a"
	SeedTargetB = "iqn.1986-03.com.sun:02:tgt-b"
	// SeedInitiator is the seed host's own initiator (alias sim-host1): in
	// the one-host scenario kz1 reaches its boot LU over iSCSI loopback.
	SeedInitiator = "iqn.1986-03.com.sun:01:sim-host1"
	// ZoneHostInitiator is the zone host's initiator in SeedTwoHosts (alias
	// kz-host1), the member of host group hg-kz.
	ZoneHostInitiator = "iqn.1986-03.com.sun:01:kz-host1"
	// ZoneHostID and ZoneHostname are the zone host's identity in
	// SeedTwoHosts; the storage host keeps the seed's 8f3a21c4 / sim-host1.
	ZoneHostID   = "5c0e8b17"
	ZoneHostname = "kz-host1"
	// seedLogin is when the seed's sessions logged in (after the seed clock).
	seedLogin = seedTime + 3600
)

// Seed builds the demo scenario at root on a FlavorSolaris host (see the
// package tests for its shape): pool/idisk0 behind LU SeedGUID0 with two
// views, kernel zone kz1 booting from it over iSCSI, snapshot
// pool/idisk0@snap1 taken before the zone's host data was re-initialised
// with a new key; pool/idisk1 behind LU SeedGUID1 with snapshot @base;
// filesystem pool/data without an LU; pool history of the commands that
// built it; targets SeedTargetA and SeedTargetB, each with one session from
// the host's own initiator SeedInitiator (where kz1 is: not on illumos and
// OpenZFS) (the host's State.Initiator stays
// empty, so its zoneadm keeps the one-host rule: any view of the LU will do).
func Seed(root string) error { return SeedFlavor(root, FlavorSolaris) }

// SeedFlavor is Seed for a host of the given flavor. Every flavor has the
// same datasets, snapshots, data, LUs and views; only FlavorSolaris has the
// kernel zone kz1 (illumos and OpenZFS have no solaris-kz brand, so their
// zoneadm list -cp shows the global zone alone).
func SeedFlavor(root, flavor string) error {
	if err := checkFlavor(flavor); err != nil {
		return fmt.Errorf("seed %s: %w", root, err)
	}
	if err := Init(root); err != nil {
		return err
	}
	if err := Update(root, func(s *State) error {
		s.Flavor = flavor
		seedStorage(s, s.HostID, s.Hostname)
		seedTargets(s, SeedInitiator, "sim-host1")
		if s.kernelZones() {
			s.Zones = []*Zone{seedZone()}
		} else {
			// No kz1 here, so nothing on this host logs in to its own
			// targets.
			for _, t := range s.Targets {
				t.Sessions = nil
			}
		}
		return nil
	}); err != nil {
		return fmt.Errorf("seed %s: %w", root, err)
	}
	return nil
}

// SeedTwoHosts builds the two-host scenario, both FlavorSolaris:
//
//   - storageRoot: the storage host, with the datasets, snapshots, LUs,
//     views and groups of Seed (hostname sim-host1, hostid 8f3a21c4), but
//     no zone; targets SeedTargetA and SeedTargetB each have one session
//     from ZoneHostInitiator (alias kz-host1, the member of hg-kz).
//   - zoneRoot: the zone host (hostname ZoneHostname, hostid ZoneHostID),
//     with no datasets and no LUs; kernel zone kz1 as in Seed, installed,
//     booting from LU SeedGUID0 over iSCSI; Initiator ZoneHostInitiator and
//     Fabric [storageRoot] (made absolute).
//
// The host data on the storage host's pool/idisk0 (and in @snap1) names the
// zone host, which holds kz1.
func SeedTwoHosts(storageRoot, zoneRoot string) error {
	abs, err := filepath.Abs(storageRoot)
	if err != nil {
		return fmt.Errorf("seed %s: %w", storageRoot, err)
	}
	if err := Init(storageRoot); err != nil {
		return err
	}
	if err := Update(storageRoot, func(s *State) error {
		s.Flavor = FlavorSolaris
		seedStorage(s, ZoneHostID, ZoneHostname)
		seedTargets(s, ZoneHostInitiator, ZoneHostname)
		return nil
	}); err != nil {
		return fmt.Errorf("seed %s: %w", storageRoot, err)
	}
	if err := Init(zoneRoot); err != nil {
		return err
	}
	if err := Update(zoneRoot, func(s *State) error {
		s.Flavor = FlavorSolaris
		s.HostID, s.Hostname = ZoneHostID, ZoneHostname
		s.Initiator = ZoneHostInitiator
		s.Fabric = []string{abs}
		s.NextKey = 3 // key-1 and key-2 are on the storage host's disk
		s.Zones = []*Zone{seedZone()}
		return nil
	}); err != nil {
		return fmt.Errorf("seed %s: %w", zoneRoot, err)
	}
	return nil
}

// seedTargets adds the seed's two targets, each with one session from
// initiator.
func seedTargets(s *State, initiator, alias string) {
	for _, name := range []string{SeedTargetA, SeedTargetB} {
		s.Targets = append(s.Targets, &Target{Name: name, Sessions: []*Session{
			{Initiator: initiator, Alias: alias, Since: seedLogin},
		}})
	}
}

// seedZone is kz1, installed, booting from LU SeedGUID0 over iSCSI.
func seedZone() *Zone {
	zero := 0
	return &Zone{
		Name: SeedZone, Brand: "solaris-kz", IPType: "excl", UUID: SeedKZUUID,
		State: ZoneInstalled, Key: SeedZoneKey, HostID: "0x2e7d2173",
		Devices: []*ZoneDevice{{
			ID: 0, BootPri: &zero,
			Storage: "iscsi://127.0.0.1:3260/luname.naa.600144f0a613c900000054521d550001",
		}},
	}
}

// seedStorage builds the seed's datasets, snapshots, LUs, groups, views and
// pool history; the host data on pool/idisk0 names the host ownerID /
// ownerName (the host that runs kz1).
func seedStorage(s *State, ownerID, ownerName string) {
	clock := int64(seedTime)
	tick := func() int64 { clock += 60; return clock }
	newDS := func(name, typ string, volsize int64) *Dataset {
		d := &Dataset{Name: name, Type: typ, Creation: tick(), CreateTxg: s.txg(), Volsize: volsize}
		s.Datasets = append(s.Datasets, d)
		return d
	}
	snap := func(d *Dataset, name string) {
		d.Snapshots = append(d.Snapshots, &Snapshot{
			Name: name, Creation: tick(), CreateTxg: s.txg(), Volsize: d.Volsize,
			Data: append([]byte(nil), d.Data...), HostData: cloneHostData(d.HostData),
			Label: d.Label.clone(),
		})
		s.History = append(s.History, HistoryRecord{Time: clock, Pool: "pool", Cmd: "zfs snapshot " + d.Name + "@" + name})
	}
	logCreate := func(d *Dataset, cmd string) {
		s.History = append(s.History, HistoryRecord{Time: d.Creation, Pool: "pool", Cmd: cmd})
	}
	vdev := "c0t1d0"
	if s.flavor() == FlavorOpenZFS {
		vdev = "sdb"
	}
	logCreate(newDS("pool", "filesystem", 0), "zpool create pool "+vdev)
	logCreate(newDS("pool/data", "filesystem", 0), "zfs create pool/data")

	disk0 := newDS("pool/idisk0", "volume", 1073741824)
	logCreate(disk0, "zfs create -V 1G pool/idisk0")
	disk0.Data = []byte("kz1 disk at snap1")
	if s.kernelZones() {
		// kz1's root pool, as kz1 itself last wrote it (bootlabel.go).
		disk0.Label = seedLabel(seedZone(), 0, SeedPoolGUID, SeedVdevGUID, 1843, clock)
	}
	disk0.HostData = &HostData{KeyID: "key-1", Owner: ownerID, Hostname: ownerName, State: ZoneInstalled, Updated: tick()}
	snap(disk0, "snap1")
	disk0.Data = []byte("kz1 disk after snap1")
	disk0.HostData = &HostData{KeyID: "key-2", Owner: ownerID, Hostname: ownerName, State: ZoneInstalled, Updated: tick()}
	s.NextKey = 3

	disk1 := newDS("pool/idisk1", "volume", 1073741824)
	logCreate(disk1, "zfs create -V 1G pool/idisk1")
	disk1.Data = []byte("idisk1 base")
	snap(disk1, "base")

	for _, x := range []struct {
		d    *Dataset
		guid string
	}{{disk0, SeedGUID0}, {disk1, SeedGUID1}} {
		path := "/dev/zvol/rdsk/" + x.d.Name
		lu := &LU{GUID: x.guid, Alias: path, Size: x.d.Volsize, Blk: 512, VID: "SUN     ", PID: "COMSTAR         "}
		x.d.Props = map[string]string{"stmf_sbd_lu": encodeMeta(lu)}
		s.register(lu, path)
	}

	s.HostGroups = []*Group{{Name: "hg-kz", Members: []string{ZoneHostInitiator}}}
	s.TargetGroups = []*Group{
		{Name: "tg-a", Members: []string{SeedTargetA}},
		{Name: "tg-b", Members: []string{SeedTargetB}},
	}
	s.ViewTable[SeedGUID0] = []*View{
		{Entry: 0, HostGroup: "hg-kz", TargetGroup: "tg-a", LUN: 0},
		{Entry: 1, TargetGroup: "tg-b", LUN: 7},
	}
	s.ViewTable[SeedGUID1] = []*View{{Entry: 0, TargetGroup: "tg-a", LUN: 1}}
}

// AddVolumes adds n exported zvols for benchmarks and load tests:
// pool/bvolNNNN, each with a snapshot @s1, changed since, behind an LU
// (GUID 600144F0B00000000000000000NNNNNN... ) with one view (All hosts,
// target group tg-a, LUN 100+i). It returns the snapshot names.
func AddVolumes(root string, n int) ([]string, error) {
	var snaps []string
	err := Update(root, func(s *State) error {
		for i := 0; i < n; i++ {
			name := fmt.Sprintf("pool/bvol%04d", i)
			d := &Dataset{Name: name, Type: "volume", Creation: s.now(), CreateTxg: s.txg(), Volsize: 1 << 30,
				Data: []byte(name + " at s1")}
			d.Snapshots = append(d.Snapshots, &Snapshot{Name: "s1", Creation: s.now(), CreateTxg: s.txg(),
				Volsize: d.Volsize, Data: append([]byte(nil), d.Data...)})
			d.Data = []byte(name + " after s1")
			s.Datasets = append(s.Datasets, d)
			guid := fmt.Sprintf("600144F0B0000000000000000%07X", i)
			path := "/dev/zvol/rdsk/" + name
			lu := &LU{GUID: guid, Alias: path, Size: d.Volsize, Blk: 512, VID: "SUN     ", PID: "COMSTAR         "}
			d.Props = map[string]string{"stmf_sbd_lu": encodeMeta(lu)}
			s.register(lu, path)
			s.ViewTable[guid] = []*View{{Entry: 0, TargetGroup: "tg-a", LUN: 100 + i}}
			s.History = append(s.History,
				HistoryRecord{Time: d.Creation, Pool: "pool", Cmd: "zfs create -V 1G " + name},
				HistoryRecord{Time: d.Snapshots[0].Creation, Pool: "pool", Cmd: "zfs snapshot " + name + "@s1"})
			snaps = append(snaps, name+"@s1")
		}
		return nil
	})
	return snaps, err
}
