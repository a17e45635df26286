package sim

import (
	"strings"
	"testing"
)

// TestZonecfgInfoStorage: zonecfg info prints a zone's rootzpool and zpool
// resources (one storage line per URI) and device matches, quoting a
// value with a space (illumos zonecfg.c output_prop, quoteit); illumos
// prints a device's match only and has no rootzpool.
func TestZonecfgInfoStorage(t *testing.T) {
	root := seeded(t)
	lu0 := "iscsi://127.0.0.1:3260/luname.naa." + strings.ToLower(SeedGUID0)
	if err := AddZone(root, ZoneSpec{Name: "zoss1", Brand: "solaris", State: ZoneRunning,
		RootZpool: []string{lu0, "iscsi://h/luname.naa.600144F0A613C900000054521D55FFFF"},
		Zpools:    []*ZonePool{{Name: "data", Storage: []string{"iscsi:///target." + SeedTargetB + ",lun.7"}}},
		Devices:   []string{"match=/dev/rdsk/c9t0d0", "match=/dev/a b"}}); err != nil {
		t.Fatal(err)
	}
	got := must(t, root, "zonecfg", "-z", "zoss1", "info").stdout
	want := "device:\n\tmatch: /dev/rdsk/c9t0d0\n\tstorage not specified\n" +
		"device:\n\tmatch: \"/dev/a b\"\n\tstorage not specified\n" +
		"rootzpool:\n\tstorage: " + lu0 + "\n\tstorage: iscsi://h/luname.naa.600144F0A613C900000054521D55FFFF\n" +
		"zpool:\n\tname: data\n\tstorage: iscsi:///target." + SeedTargetB + ",lun.7\n"
	if !strings.HasSuffix(got, want) || !strings.HasPrefix(got, "zonename: zoss1\nbrand: solaris\n") {
		t.Errorf("zonecfg info:\n%s\nwant it to end with\n%s", got, want)
	}
	if got := must(t, root, "zonecfg", "-z", "zoss1", "info", "rootzpool").stdout; got != "rootzpool:\n\tstorage: "+lu0+"\n\tstorage: iscsi://h/luname.naa.600144F0A613C900000054521D55FFFF\n" {
		t.Errorf("info rootzpool: %q", got)
	}
	// A ZOSS zone is stopped, detached, attached and booted like any zone
	// (no host data).
	for _, argv := range [][]string{{"shutdown"}, {"detach"}, {"attach"}, {"boot"}} {
		must(t, root, append([]string{"zoneadm", "-z", "zoss1"}, argv...)...)
	}
	if r := must(t, root, "zoneadm", "-z", "zoss1", "list", "-p"); !strings.Contains(r.stdout, ":zoss1:running:") {
		t.Errorf("zoss1 after boot: %q", r.stdout)
	}

	ill := seededFlavor(t, FlavorIllumos)
	if err := AddZone(ill, ZoneSpec{Name: "web1", Brand: "ipkg", Devices: []string{"match=/dev/zvol/rdsk/pool/idisk0"}}); err != nil {
		t.Fatal(err)
	}
	if got := must(t, ill, "zonecfg", "-z", "web1", "info", "device").stdout; got != "device:\n\tmatch: /dev/zvol/rdsk/pool/idisk0\n" {
		t.Errorf("illumos info device: %q", got)
	}
	if err := AddZone(ill, ZoneSpec{Name: "zoss1", Brand: "solaris", RootZpool: []string{lu0}}); err == nil {
		t.Errorf("illumos took a rootzpool")
	}
	if r := must(t, ill, "zoneadm", "list", "-cp"); !strings.Contains(r.stdout, ":web1:installed:/system/zones/web1:") ||
		strings.Count(strings.Split(r.stdout, "\n")[1], ":") != 6 {
		t.Errorf("illumos list -cp, 7 fields: %q", r.stdout)
	}
}

// TestBootStorageForms: kz1 boots (its host data is read) from its boot
// disk named each way: by target and LUN, by a multipath disk name that
// carries the LU's GUID (dev: URI or match), by a dev: path with "//" of a
// zvol no LU holds.
func TestBootStorageForms(t *testing.T) {
	for _, ref := range []string{
		"iscsi://127.0.0.1:3260/target." + SeedTargetB + ",lun.7",
		"dev:/dev/dsk/c0t" + SeedGUID0 + "d0",
		"match=/dev/rdsk/c0t" + strings.ToLower(SeedGUID0) + "d0",
		"dev:/dev/zvol/dsk/pool//kdisk0",
	} {
		root := seeded(t)
		if err := Update(root, func(s *State) error {
			// pool/kdisk0: no LU, kz1's host data on it.
			d := *s.Zvol("pool/idisk0")
			d.Name, d.Props, d.Snapshots = "pool/kdisk0", nil, nil
			s.Datasets = append(s.Datasets, &d)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if err := SetDeviceStorage(root, "kz1", 0, ref); err != nil {
			t.Fatal(err)
		}
		if r := run(t, root, "zoneadm", "-z", "kz1", "boot"); r.code != 0 {
			t.Errorf("%s: boot: %+v", ref, r)
		}
	}
	root := seeded(t)
	if err := SetDeviceStorage(root, "kz1", 0, "dev:/dev/dsk/c0t"+SeedGUID1[:31]+"Fd0"); err != nil {
		t.Fatal(err)
	}
	if r := run(t, root, "zoneadm", "-z", "kz1", "boot"); r.code == 0 || !strings.Contains(r.stderr, "could not read host data") {
		t.Errorf("boot from a GUID no LU has: %+v", r)
	}
}
