package sim

import (
	"strings"
	"testing"
)

func TestZoneStateMachine(t *testing.T) {
	// Each step runs "zoneadm -z kz1 <args>" and checks exit, stderr and the
	// resulting state; steps continue on one seeded host.
	type step struct {
		args   string
		code   int
		stderr string
		state  string
	}
	cases := []struct {
		name  string
		setup func(s *State)
		steps []step
	}{
		{"boot halt detach attach boot", nil, []step{
			{"boot", 0, "", ZoneRunning},
			{"boot", 1, "zoneadm: zone 'kz1': zone is already booted\n", ZoneRunning},
			{"detach", 1, "zoneadm: zone 'kz1': detach operation is invalid for running zones.\n", ZoneRunning},
			{"attach", 1, "zoneadm: zone 'kz1': attach operation is invalid for running zones.\n", ZoneRunning},
			{"halt", 0, "", ZoneInstalled},
			{"shutdown", 1, "zoneadm: zone 'kz1': not running\n", ZoneInstalled},
			{"attach", 1, "zoneadm: zone 'kz1': is already installed.\n", ZoneInstalled},
			{"detach", 0, "", ZoneConfigured},
			{"boot", 1, "zoneadm: zone 'kz1': must be installed before boot.\n", ZoneConfigured},
			{"halt", 1, "zoneadm: zone 'kz1': must be installed before halt.\n", ZoneConfigured},
			{"detach", 1, "zoneadm: zone 'kz1': must be installed before detach.\n", ZoneConfigured},
			{"attach", 0, "", ZoneInstalled},
			{"ready", 0, "", ZoneReady},
			{"detach", 1, "zoneadm: zone 'kz1': detach operation is invalid for ready zones.\n", ZoneReady},
			{"boot", 0, "", ZoneRunning},
			{"shutdown", 0, "", ZoneInstalled},
		}},
		{"boot with a rolled-back key goes unavailable", func(s *State) {
			s.Zone("kz1").Key = "key-9"
		}, []step{
			{"boot", 1, "zone 'kz1': error: Encryption key is incorrect.  See solaris-kz(7) for configuration migration\nzone 'kz1': procedure or update /etc/zones/keys/kz1.\n", ZoneUnavailable},
			{"attach -x initialize-hostdata", 0, "", ZoneInstalled},
			{"boot", 0, "", ZoneRunning},
		}},
		{"offline LU makes the boot disk unreachable", func(s *State) {
			s.LU(guid0).State = "Offline"
		}, []step{
			{"boot", 1, "zone 'kz1': error: could not read host data from any boot device\n", ZoneUnavailable},
		}},
		{"LU without views is unreachable", func(s *State) {
			delete(s.ViewTable, guid0)
			s.Zone("kz1").State = ZoneConfigured
		}, []step{
			{"attach", 1, "zone 'kz1': error: could not read host data from any boot device\n", ZoneConfigured},
		}},
		{"host data owned by another host", func(s *State) {
			s.Zvol("pool/idisk0").HostData.Owner = "848611d4"
			s.Zvol("pool/idisk0").HostData.Hostname = "global2"
			s.Zone("kz1").State = ZoneConfigured
		}, []step{
			{"attach", 1, "zone 'kz1': error: ERROR: zone kz1 is in use by host with  hostid 848611d4\n", ZoneConfigured},
			{"attach -x force-takeover", 0, "", ZoneInstalled},
		}},
		{"dev: URI to a zvol", func(s *State) {
			s.Zone("kz1").Devices[0].Storage = "dev:/dev/zvol/dsk/pool/idisk0"
			delete(s.LUs, guid0) // the LU would hold the zvol open
		}, []step{
			{"boot", 0, "", ZoneRunning},
		}},
		{"bad -x", nil, []step{
			{"detach", 0, "", ZoneConfigured},
			{"attach -x bogus", 2, "zoneadm: zone 'kz1': invalid -x option: bogus\n", ZoneConfigured},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := seeded(t)
			if c.setup != nil {
				if err := Update(root, func(s *State) error { c.setup(s); return nil }); err != nil {
					t.Fatal(err)
				}
			}
			for _, st := range c.steps {
				r := run(t, root, append([]string{"zoneadm", "-z", "kz1"}, strings.Fields(st.args)...)...)
				if r.code != st.code || !strings.HasPrefix(r.stderr, st.stderr) || (st.stderr == "" && r.stderr != "") {
					t.Fatalf("%s: got %v, want exit %d stderr %q", st.args, r, st.code, st.stderr)
				}
				if got := load(t, root).Zone("kz1").State; got != st.state {
					t.Fatalf("%s: state %s, want %s", st.args, got, st.state)
				}
			}
		})
	}
}

func TestInitializeHostdataWritesDisk(t *testing.T) {
	root := seeded(t)
	must(t, root, "zoneadm", "-z", "kz1", "detach")
	must(t, root, "stmfadm", "delete-lu", "-k", guid0)
	must(t, root, "zfs", "rollback", "pool/idisk0@snap1")
	must(t, root, "stmfadm", "import-lu", "/dev/zvol/rdsk/pool/idisk0")
	// Solaris 11.4 has no written@ (docs/platform/zfs.md §1): compare the disk
	// with its snapshot directly.
	if s := load(t, root); !sameContent(s.Zvol("pool/idisk0").Data, s.Zvol("pool/idisk0").HostData,
		s.Zvol("pool/idisk0").Snapshot("snap1").Data, s.Zvol("pool/idisk0").Snapshot("snap1").HostData) {
		t.Fatal("disk differs from snap1 right after rollback")
	}
	must(t, root, "zoneadm", "-z", "kz1", "attach", "-x", "initialize-hostdata")
	s := load(t, root)
	if s.Zone("kz1").Key == SeedZoneKey || s.Zone("kz1").Key == "key-1" {
		t.Errorf("key not renewed: %s", s.Zone("kz1").Key)
	}
	if hd := s.Zvol("pool/idisk0").HostData; hd.KeyID != s.Zone("kz1").Key || hd.Owner != s.HostID {
		t.Errorf("host data %+v", hd)
	}
	if d := s.Zvol("pool/idisk0"); sameContent(d.Data, d.HostData, d.Snapshot("snap1").Data, d.Snapshot("snap1").HostData) {
		t.Error("disk still equal to snap1 after initialize-hostdata")
	}
	must(t, root, "zoneadm", "-z", "kz1", "boot")
	r := must(t, root, "zoneadm", "list", "-p")
	if !strings.Contains(r.stdout, "\n1:kz1:running:") {
		t.Errorf("list -p = %q", r.stdout)
	}
}

func TestZoneadmList(t *testing.T) {
	root := seeded(t)
	cases := []struct {
		args, want string
		code       int
	}{
		{"list", "global\n", 0},
		{"list -i", "global\nkz1\n", 0},
		{"list -c", "global\nkz1\n", 0},
		{"-z kz1 list", "kz1\n", 0},
		// Installed and running zones plus global (docs/platform/zones.md §3.3).
		{"list -s", "NAME             STATUS           AUXILIARY STATE\nglobal           running\nkz1              installed\n", 0},
		{"list -pv", "", 2},
		{"-z kz9 list -p", "", 1},
	}
	for _, c := range cases {
		t.Run(c.args, func(t *testing.T) {
			r := run(t, root, append([]string{"zoneadm"}, strings.Fields(c.args)...)...)
			if r.code != c.code || r.stdout != c.want {
				t.Errorf("got %v, want %q", r, c.want)
			}
		})
	}
	if r := run(t, root, "zonecfg", "-z", "kz9", "info"); r.code != 1 || r.stderr != "kz9: No such zone configured\n" {
		t.Errorf("zonecfg unknown zone: %v", r)
	}
}
