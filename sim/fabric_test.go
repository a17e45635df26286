package sim

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// twoHosts seeds SeedTwoHosts in a temp dir.
func twoHosts(t *testing.T) (storage, zone string) {
	t.Helper()
	dir := t.TempDir()
	storage, zone = filepath.Join(dir, "storage"), filepath.Join(dir, "zone")
	if err := SeedTwoHosts(storage, zone); err != nil {
		t.Fatal(err)
	}
	return storage, zone
}

// TestListTargetTwoHosts: the storage host of SeedTwoHosts shows the zone
// host's sessions.
func TestListTargetTwoHosts(t *testing.T) {
	storage, _ := twoHosts(t)
	argv := []string{"stmfadm", "list-target", "-v"}
	var r result
	withLocal(t, time.UTC, func() { r = must(t, storage, argv...) })
	if strings.Count(r.stdout, "        Initiator: "+ZoneHostInitiator+"\n            Alias: "+ZoneHostname+"\n") != 2 {
		t.Errorf("list-target -v lacks the zone host's two sessions:\n%s", r.stdout)
	}
	checkGolden(t, "list-target-v-two-hosts", "$ "+strings.Join(argv, " ")+"\n"+r.String())
}

// fabricStep runs a command on one of the two hosts and checks its exit
// status, the start of its stderr ("" = none) and, on the zone host, kz1's
// state afterwards.
type fabricStep struct {
	onStorage bool
	args      string
	code      int
	stderr    string
	state     string // kz1 on the zone host; "" = don't check
}

func zoneStep(args string, code int, stderr, state string) fabricStep {
	return fabricStep{false, "zoneadm -z kz1 " + args, code, stderr, state}
}

func storageStep(args string) fabricStep { return fabricStep{true, args, 0, "", ""} }

const noHostData = "zone 'kz1': error: could not read host data from any boot device\n"

func runSteps(t *testing.T, storage, zone string, steps []fabricStep) {
	t.Helper()
	for _, st := range steps {
		root := zone
		if st.onStorage {
			root = storage
		}
		r := run(t, root, strings.Fields(st.args)...)
		if r.code != st.code || !strings.HasPrefix(r.stderr, st.stderr) || (st.stderr == "" && r.stderr != "") {
			t.Fatalf("%s: got %v\nwant exit %d stderr %q", st.args, r, st.code, st.stderr)
		}
		if st.state != "" {
			if got := load(t, zone).Zone("kz1").State; got != st.state {
				t.Fatalf("%s: kz1 %s, want %s", st.args, got, st.state)
			}
		}
	}
}

func TestTwoHostFabric(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T, storage, zone string)
		steps []fabricStep
		check func(t *testing.T, storage, zone *State)
	}{
		{"boot stamps the storage host's disk", nil, []fabricStep{
			zoneStep("boot", 0, "", ZoneRunning),
		}, func(t *testing.T, st, zn *State) {
			hd := st.Zvol("pool/idisk0").HostData
			if hd == nil || hd.Owner != ZoneHostID || hd.Hostname != ZoneHostname || hd.State != ZoneRunning || hd.KeyID != SeedZoneKey {
				t.Errorf("storage host data %+v", hd)
			}
			if len(zn.Datasets) != 0 || len(zn.LUs) != 0 {
				t.Errorf("zone host grew datasets %v or LUs %v", zn.Datasets, zn.LUs)
			}
		}},
		{"halt and detach stamp the storage host", nil, []fabricStep{
			zoneStep("boot", 0, "", ZoneRunning),
			zoneStep("halt", 0, "", ZoneInstalled),
			zoneStep("detach", 0, "", ZoneConfigured),
		}, func(t *testing.T, st, _ *State) {
			if hd := st.Zvol("pool/idisk0").HostData; hd.State != "detached" || hd.Owner != ZoneHostID {
				t.Errorf("storage host data %+v", hd)
			}
		}},
		{"LU deleted", nil, []fabricStep{
			storageStep("stmfadm delete-lu -k " + guid0),
			zoneStep("boot", 1, noHostData, ZoneUnavailable),
		}, nil},
		{"LU offline", nil, []fabricStep{
			storageStep("stmfadm offline-lu " + guid0),
			zoneStep("boot", 1, noHostData, ZoneUnavailable),
		}, nil},
		{"views removed", nil, []fabricStep{
			storageStep("stmfadm remove-view -l " + guid0 + " -a"),
			zoneStep("boot", 1, noHostData, ZoneUnavailable),
		}, nil},
		{"All/tg-b view alone still exposes it", nil, []fabricStep{
			storageStep("stmfadm remove-view -l " + guid0 + " 0"),
			zoneStep("boot", 0, "", ZoneRunning),
		}, nil},
		{"hg-kz/tg-a view alone still exposes it", nil, []fabricStep{
			storageStep("stmfadm remove-view -l " + guid0 + " 1"),
			zoneStep("boot", 0, "", ZoneRunning),
		}, nil},
		{"hg-kz without the initiator", nil, []fabricStep{
			storageStep("stmfadm remove-view -l " + guid0 + " 1"),
			storageStep("stmfadm remove-hg-member -g hg-kz " + ZoneHostInitiator),
			zoneStep("boot", 1, noHostData, ZoneUnavailable),
		}, nil},
		{"sessions removed", func(t *testing.T, storage, _ string) {
			for _, tg := range []string{tgtA, tgtB} {
				if err := RemoveSession(storage, tg, ZoneHostInitiator); err != nil {
					t.Fatal(err)
				}
			}
		}, []fabricStep{
			zoneStep("boot", 1, noHostData, ZoneUnavailable),
		}, nil},
		{"session on tgt-b only, its view removed", func(t *testing.T, storage, _ string) {
			if err := RemoveSession(storage, tgtA, ZoneHostInitiator); err != nil {
				t.Fatal(err)
			}
		}, []fabricStep{
			zoneStep("boot", 0, "", ZoneRunning),
			zoneStep("halt", 0, "", ZoneInstalled),
			storageStep("stmfadm remove-view -l " + guid0 + " 1"),
			zoneStep("boot", 1, noHostData, ZoneUnavailable),
		}, nil},
		{"session of another initiator does not count", func(t *testing.T, storage, _ string) {
			for _, tg := range []string{tgtA, tgtB} {
				if err := RemoveSession(storage, tg, ZoneHostInitiator); err != nil {
					t.Fatal(err)
				}
				if err := AddSession(storage, tg, SeedInitiator, "sim-host1"); err != nil {
					t.Fatal(err)
				}
			}
		}, []fabricStep{
			zoneStep("boot", 1, noHostData, ZoneUnavailable),
		}, nil},
		{"rollback on the storage host, then attach", nil, []fabricStep{
			zoneStep("detach", 0, "", ZoneConfigured),
			{true, "zfs rollback pool/idisk0@snap1", 1, "cannot rollback 'pool/idisk0': dataset is busy\n", ""},
			storageStep("stmfadm delete-lu -k " + guid0),
			storageStep("zfs rollback pool/idisk0@snap1"),
			zoneStep("attach", 1, noHostData, ZoneConfigured), // LU away
			storageStep("stmfadm import-lu /dev/zvol/rdsk/pool/idisk0"),
			zoneStep("attach", 1, "zone 'kz1': error: Encryption key is incorrect.", ZoneConfigured),
			zoneStep("attach -x initialize-hostdata", 0, "", ZoneInstalled),
			zoneStep("boot", 0, "", ZoneRunning),
		}, func(t *testing.T, st, zn *State) {
			key := zn.Zone("kz1").Key
			if key == SeedZoneKey || key == "key-1" {
				t.Errorf("key not renewed: %s", key)
			}
			hd := st.Zvol("pool/idisk0").HostData
			if hd.KeyID != key || hd.Owner != ZoneHostID || hd.State != ZoneRunning {
				t.Errorf("storage host data %+v, zone key %s", hd, key)
			}
			if string(st.Zvol("pool/idisk0").Data) != "kz1 disk at snap1" {
				t.Errorf("data %q", st.Zvol("pool/idisk0").Data)
			}
		}},
		{"target.IQN,lun.N through tg-b", func(t *testing.T, _, zone string) {
			updateState(t, zone, func(s *State) {
				s.Zone("kz1").Devices[0].Storage = "iscsi://127.0.0.1:3260/target." + tgtB + ",lun.7"
			})
		}, []fabricStep{
			zoneStep("boot", 0, "", ZoneRunning),
		}, func(t *testing.T, st, _ *State) {
			if hd := st.Zvol("pool/idisk0").HostData; hd.Owner != ZoneHostID || hd.State != ZoneRunning {
				t.Errorf("storage host data %+v", hd)
			}
		}},
		{"target.IQN,lun.N through hg-kz/tg-a, no authority", func(t *testing.T, _, zone string) {
			updateState(t, zone, func(s *State) {
				s.Zone("kz1").Devices[0].Storage = "iscsi:///target." + strings.ToUpper(tgtA) + ",lun.0"
			})
		}, []fabricStep{
			zoneStep("boot", 0, "", ZoneRunning),
		}, nil},
		{"target.IQN,lun.N with the wrong LUN", func(t *testing.T, _, zone string) {
			updateState(t, zone, func(s *State) {
				s.Zone("kz1").Devices[0].Storage = "iscsi://127.0.0.1/target." + tgtA + ",lun.7"
			})
		}, []fabricStep{
			zoneStep("boot", 1, noHostData, ZoneUnavailable),
		}, nil},
		{"target.IQN,lun.N without a session to that target", func(t *testing.T, storage, zone string) {
			updateState(t, zone, func(s *State) {
				s.Zone("kz1").Devices[0].Storage = "iscsi://127.0.0.1/target." + tgtB + ",lun.7"
			})
			if err := RemoveSession(storage, tgtB, ZoneHostInitiator); err != nil {
				t.Fatal(err)
			}
		}, []fabricStep{
			zoneStep("boot", 1, noHostData, ZoneUnavailable),
		}, nil},
		{"storage host unreachable", func(t *testing.T, _, zone string) {
			updateState(t, zone, func(s *State) { s.Fabric = []string{filepath.Join(t.TempDir(), "gone")} })
		}, []fabricStep{
			zoneStep("boot", 1, noHostData, ZoneUnavailable),
		}, nil},
		{"second storage host of the fabric has it", func(t *testing.T, storage, zone string) {
			empty := filepath.Join(t.TempDir(), "empty")
			if err := Init(empty); err != nil {
				t.Fatal(err)
			}
			updateState(t, zone, func(s *State) { s.Fabric = []string{empty, storage} })
		}, []fabricStep{
			zoneStep("boot", 0, "", ZoneRunning),
		}, nil},
		{"storage host has no zone", nil, []fabricStep{
			{true, "zoneadm -z kz1 boot", 1, "zoneadm: kz1: No such zone configured\n", ""},
		}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			storage, zone := twoHosts(t)
			if c.setup != nil {
				c.setup(t, storage, zone)
			}
			runSteps(t, storage, zone, c.steps)
			if c.check != nil {
				c.check(t, load(t, storage), load(t, zone))
			}
		})
	}
}

// TestTwoHostsSeed checks the shape of SeedTwoHosts.
func TestTwoHostsSeed(t *testing.T) {
	storage, zone := twoHosts(t)
	r := must(t, storage, "zoneadm", "list", "-cp")
	if r.stdout != "0:global:running:/::solaris:shared:-:none\n" {
		t.Errorf("storage zoneadm list -cp = %q", r.stdout)
	}
	r = must(t, zone, "zoneadm", "list", "-cp")
	if r.stdout != "0:global:running:/::solaris:shared:-:none\n-:kz1:installed:/system/volatile/zones/kz1/zonepath:"+SeedKZUUID+":solaris-kz:excl:-:\n" {
		t.Errorf("zone zoneadm list -cp = %q", r.stdout)
	}
	st, zn := load(t, storage), load(t, zone)
	if st.HostID != "8f3a21c4" || st.Hostname != "sim-host1" || st.Initiator != "" || len(st.Fabric) != 0 || len(st.Zones) != 0 {
		t.Errorf("storage identity %s %s %q %v zones %d", st.HostID, st.Hostname, st.Initiator, st.Fabric, len(st.Zones))
	}
	abs, _ := filepath.Abs(storage)
	if zn.HostID != ZoneHostID || zn.Hostname != ZoneHostname || zn.Initiator != ZoneHostInitiator ||
		len(zn.Fabric) != 1 || zn.Fabric[0] != abs || zn.Flavor != FlavorSolaris {
		t.Errorf("zone identity %s %s %q %v %s", zn.HostID, zn.Hostname, zn.Initiator, zn.Fabric, zn.Flavor)
	}
	one := seeded(t)
	seedZ := load(t, one).Zone("kz1")
	if z := zn.Zone("kz1"); z == nil || z.UUID != seedZ.UUID || z.Key != seedZ.Key || z.State != ZoneInstalled ||
		z.Devices[0].Storage != seedZ.Devices[0].Storage || *z.Devices[0].BootPri != 0 {
		t.Errorf("zone host kz1 %+v, seed %+v", z, seedZ)
	}
	for _, tgt := range []string{tgtA, tgtB} {
		tt := st.Target(tgt)
		if tt == nil || len(tt.Sessions) != 1 || tt.Sessions[0].Initiator != ZoneHostInitiator || tt.Sessions[0].Alias != ZoneHostname {
			t.Errorf("storage target %s: %+v", tgt, tt)
		}
		if tt := load(t, one).Target(tgt); tt == nil || len(tt.Sessions) != 1 || tt.Sessions[0].Initiator != SeedInitiator {
			t.Errorf("seed target %s: %+v", tgt, tt)
		}
	}
	for _, name := range []string{"pool/idisk0"} {
		hd := st.Zvol(name).HostData
		if hd.Owner != ZoneHostID || hd.Hostname != ZoneHostname || hd.KeyID != SeedZoneKey {
			t.Errorf("%s host data %+v", name, hd)
		}
		if hd := st.Zvol(name).Snapshot("snap1").HostData; hd.Owner != ZoneHostID || hd.KeyID != "key-1" {
			t.Errorf("%s@snap1 host data %+v", name, hd)
		}
	}
	// The storage host has the seed's datasets, LUs and views.
	if got, want := viewString(st, guid0), viewString(load(t, one), guid0); got != want {
		t.Errorf("views %q, want %q", got, want)
	}
	if st.LU(guid0) == nil || st.LU(guid1) == nil || st.Zvol("pool/idisk1") == nil || st.Dataset("pool/data") == nil {
		t.Error("storage host lacks seed LUs or datasets")
	}
}

// TestTwoHostsInUse: host data stamped by one zone host blocks attach on
// another until the first detaches.
func TestTwoHostsInUse(t *testing.T) {
	storage, zone := twoHosts(t)
	other := filepath.Join(t.TempDir(), "other")
	const otherIni = "iqn.1986-03.com.sun:01:kz-host2"
	if err := Init(other); err != nil {
		t.Fatal(err)
	}
	updateState(t, other, func(s *State) {
		z := seedZone()
		z.State = ZoneConfigured
		s.HostID, s.Hostname, s.Initiator, s.Fabric, s.NextKey = "31a7c0de", "kz-host2", otherIni, []string{storage}, 3
		s.Zones = []*Zone{z}
	})
	if err := AddSession(storage, tgtB, otherIni, "kz-host2"); err != nil { // reaches the All/tg-b view
		t.Fatal(err)
	}
	must(t, zone, "zoneadm", "-z", "kz1", "boot")
	r := run(t, other, "zoneadm", "-z", "kz1", "attach")
	if r.code != 1 || !strings.HasPrefix(r.stderr, "zone 'kz1': error: ERROR: zone kz1 is in use by host with  hostid "+ZoneHostID+"\n") ||
		!strings.Contains(r.stderr, "              hostname: "+ZoneHostname+"\n") {
		t.Fatalf("attach on the other host: %v", r)
	}
	must(t, zone, "zoneadm", "-z", "kz1", "shutdown")
	must(t, zone, "zoneadm", "-z", "kz1", "detach")
	must(t, other, "zoneadm", "-z", "kz1", "attach")
	if hd := load(t, storage).Zvol("pool/idisk0").HostData; hd.Owner != "31a7c0de" || hd.Hostname != "kz-host2" || hd.State != ZoneInstalled {
		t.Errorf("host data after the move %+v", hd)
	}
	// Now the first host is the other one.
	r = run(t, zone, "zoneadm", "-z", "kz1", "attach")
	if r.code != 1 || !strings.Contains(r.stderr, "in use by host with  hostid 31a7c0de") {
		t.Errorf("attach back: %v", r)
	}
}

// TestLocalInitiatorRules: a host with an Initiator and no Fabric applies
// the exposure rules to its own LUs; without an Initiator (Seed) any view
// will do, as before.
func TestLocalInitiatorRules(t *testing.T) {
	cases := []struct {
		name      string
		initiator string
		edit      func(*State)
		code      int
	}{
		{"seed: any view", "", func(s *State) { s.Targets = nil }, 0},
		{"own initiator through loopback", SeedInitiator, nil, 0},
		{"own initiator without sessions", SeedInitiator, func(s *State) { s.Targets = nil }, 1},
		{"own initiator, only the hg-kz view", SeedInitiator, func(s *State) { s.ViewTable[guid0] = s.ViewTable[guid0][:1] }, 1},
		{"target form", SeedInitiator, func(s *State) {
			s.Zone("kz1").Devices[0].Storage = "iscsi://127.0.0.1/target." + tgtB + ",lun.7"
		}, 0},
		{"target form, seed: any view", "", func(s *State) {
			s.Zone("kz1").Devices[0].Storage = "iscsi://127.0.0.1/target." + tgtB + ",lun.7"
			s.Targets = nil
		}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := seeded(t)
			updateState(t, root, func(s *State) {
				s.Initiator = c.initiator
				if c.edit != nil {
					c.edit(s)
				}
			})
			r := run(t, root, "zoneadm", "-z", "kz1", "boot")
			if r.code != c.code || (c.code != 0 && r.stderr != noHostData) {
				t.Errorf("boot: %v, want exit %d", r, c.code)
			}
		})
	}
}

// TestReachTargetLUN resolves the target.IQN,lun.N form to the LU behind
// that LUN (here pool/idisk1, LUN 1 through tg-a).
func TestReachTargetLUN(t *testing.T) {
	storage, _ := twoHosts(t)
	st := load(t, storage)
	cases := []struct {
		uri, want string
	}{
		{"iscsi://h/target." + tgtA + ",lun.1", "pool/idisk1"},
		{"iscsi://h:3260/target." + tgtA + ",lun.0", "pool/idisk0"},
		{"iscsi:///target." + tgtB + ",lun.7", "pool/idisk0"},
		{"iscsi://h/target." + tgtB + ",lun.1", ""},
		{"iscsi://h/luname.naa." + lc0, "pool/idisk0"},
		{"iscsi://h/luname.naa.600144F0000000000000000000000009", ""},
		{"iscsi://h/target.iqn.1986-03.com.sun:02:nope,lun.0", ""},
	}
	for _, c := range cases {
		ref, ok := parseLunRef(c.uri)
		if !ok {
			t.Errorf("%s: not parsed", c.uri)
			continue
		}
		got := ""
		if d := st.reach(ref, ZoneHostInitiator); d != nil {
			got = d.Name
		}
		if got != c.want {
			t.Errorf("%s: reached %q, want %q", c.uri, got, c.want)
		}
	}
	if _, ok := parseLunRef("dev:/dev/zvol/dsk/pool/idisk0"); ok {
		t.Error("dev: URI parsed as an LU reference")
	}
}

func TestManageFabric(t *testing.T) {
	dir := t.TempDir()
	storage, zone := filepath.Join(dir, "s"), filepath.Join(dir, "z")
	var e bytes.Buffer
	sim := func(args ...string) int {
		e.Reset()
		return Main(append([]string{"volctl-sim"}, args...), nil, io.Discard, &e)
	}
	if c := sim("seed-two-hosts", storage, zone); c != 0 {
		t.Fatalf("seed-two-hosts: %d %s", c, e.String())
	}
	for _, root := range []string{storage, zone} {
		for _, cmd := range Commands {
			if _, err := os.Lstat(CommandPath(root, cmd)); err != nil {
				t.Errorf("%s: %v", root, err)
			}
		}
	}
	if st := load(t, storage); st.Target(tgtA).Sessions[0].Initiator != ZoneHostInitiator || load(t, zone).Zone("kz1") == nil {
		t.Error("seed-two-hosts did not seed the two hosts")
	}
	if c := sim("seed-two-hosts", storage); c != 2 {
		t.Errorf("seed-two-hosts with one root: %d", c)
	}
}

// TestBinaryTwoHosts drives both hosts through real processes, the zone
// host's boot/halt racing storage-host commands: every command succeeds
// (the zone host locks itself, then the storage host; nothing deadlocks)
// and the storage host's disk ends stamped by the zone host.
func TestBinaryTwoHosts(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sh := &simHost{t: t, bin: bin, root: filepath.Join(dir, "storage")}
	zh := &simHost{t: t, bin: bin, root: filepath.Join(dir, "zone")}
	if out, err := exec.Command(bin, "seed-two-hosts", sh.root, zh.root).CombinedOutput(); err != nil {
		t.Fatalf("volctl-sim seed-two-hosts: %v\n%s", err, out)
	}
	const n = 6
	var wg sync.WaitGroup
	errs := make(chan string, 4*n)
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := 0; i < n; i++ {
			for _, sub := range []string{"boot", "halt"} {
				if r := zh.run("zoneadm", "-z", "kz1", sub); r.code != 0 {
					errs <- "zoneadm " + sub + ": " + r.String()
				}
			}
		}
	}()
	go func() {
		defer wg.Done()
		for i := 0; i < n; i++ {
			if r := sh.run("zfs", "snapshot", "pool/idisk1@s"+string(rune('a'+i))); r.code != 0 {
				errs <- "zfs snapshot: " + r.String()
			}
			if r := sh.run("stmfadm", "list-target", "-v"); r.code != 0 || strings.Count(r.stdout, ZoneHostInitiator) != 2 {
				errs <- "list-target: " + r.String()
			}
		}
	}()
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if hd := load(t, sh.root).Zvol("pool/idisk0").HostData; hd.Owner != ZoneHostID || hd.State != ZoneInstalled {
		t.Errorf("storage host data %+v", hd)
	}
	sh.expect(0, "", "", "stmfadm", "remove-view", "-l", guid0, "-a")
	zh.expect(1, "", noHostData, "zoneadm", "-z", "kz1", "boot")
}
