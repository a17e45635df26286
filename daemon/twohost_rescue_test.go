package daemon_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/volctl/volctl/client"
	v1 "github.com/volctl/volctl/proto/volctl/v1"
	"github.com/volctl/volctl/sim"
	"github.com/volctl/volctl/sim/simtest"
)

// A rescue whose zones run on the zone host (issue 23 item 3,
// docs/rescue.md §4): the storage host's volctld journals it and reads
// the label; the zone host's volctld runs its zone commands.

// newTwoHostsRescue is the two-host seed with kzrescue on the zone host,
// zlogin configured there (withZlogin), and kz1's boot path broken as an
// admin's import in a global zone breaks it.
func newTwoHostsRescue(t *testing.T, withZlogin bool) *twoHosts {
	t.Helper()
	h := newTwoHosts(t, "", "")
	if err := sim.AddRescueZone(h.zone); err != nil {
		t.Fatal(err)
	}
	// The zone host's global zone does not see the storage host's LU
	// in the simulator (kz-boot.md §7): the admin imported it on the
	// storage host, whose global zone reaches its own LUs.
	for _, args := range [][]string{
		{"import", "-N", "-f", "-t", "kz1boot", fmt.Sprint(sim.SeedPoolGUID)},
		{"export", "kz1boot"},
	} {
		if out, err := exec.Command(sim.CommandPath(h.storage, "zpool"), args...).CombinedOutput(); err != nil {
			t.Fatalf("zpool %v on the storage host: %v %s", args, err, out)
		}
	}
	if withZlogin {
		cfg, err := os.ReadFile(h.zCfg)
		if err != nil {
			t.Fatal(err)
		}
		cfg = []byte(strings.Replace(string(cfg), "[commands]\n", fmt.Sprintf("[commands]\nzlogin = %q\n", sim.CommandPath(h.zone, "zlogin")), 1))
		if err := os.WriteFile(h.zCfg, cfg, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

// rescueLeftClean checks what every rescue leaves on the two hosts,
// whichever way it ended: kzrescue installed without kz1's disk, kz1
// installed, kz1's pool imported nowhere.
func (h *twoHosts) rescueLeftClean() {
	h.t.Helper()
	zst, err := sim.Load(h.zone)
	if err != nil {
		h.t.Fatal(err)
	}
	st, err := sim.Load(h.storage)
	if err != nil {
		h.t.Fatal(err)
	}
	r, z := zst.Zone(sim.RescueZone), zst.Zone(sim.SeedZone)
	if r.State != sim.ZoneInstalled || z.State != sim.ZoneInstalled {
		h.t.Errorf("on the zone host kzrescue is %s, kz1 %s: want both installed\n%s", r.State, z.State, h.logs())
	}
	for _, d := range r.Devices {
		if d.ID == 0 || !strings.Contains(d.Storage, "kzrescue0") {
			h.t.Errorf("kzrescue still has device id %d (%s)", d.ID, d.Storage)
		}
	}
	if im := st.Dataset("pool/idisk0").Imported; im != nil {
		h.t.Errorf("kz1's pool is still imported by %s as %s", im.By, im.Name)
	}
}

func (h *twoHosts) physPath() string {
	h.t.Helper()
	st, err := sim.Load(h.storage)
	if err != nil {
		h.t.Fatal(err)
	}
	return st.Dataset("pool/idisk0").Label.Vdev.PhysPath
}

// TestTwoHostsRescue: kz1 and kzrescue on the zone host, kz1's disk the
// storage host's LU. The dry run names the zone host for every zone
// command; the rescue runs them there through its volctld (both audits
// show the calls), the storage host reads the label, and kz1 boots on the
// zone host.
func TestTwoHostsRescue(t *testing.T) {
	h := newTwoHostsRescue(t, true)
	if p := h.physPath(); p == sim.KZPhysPath(0) {
		t.Fatalf("break-boot left phys_path %s", p)
	}
	if out, err := exec.Command(sim.CommandPath(h.zone, "zoneadm"), "-z", sim.SeedZone, "boot").CombinedOutput(); err == nil {
		t.Fatalf("kz1 booted on the zone host with a broken path: %s", out)
	}
	h.start()
	c := h.storageD.client()
	ctx := context.Background()
	plan, err := c.Rollbacks.PlanRescue(ctx, &v1.PlanRescueRequest{Zone: sim.SeedZone, With: sim.RescueZone})
	if err != nil {
		t.Fatalf("plan: %v\n%s", err, h.logs())
	}
	if r := plan.GetPlan().GetRescue(); r.GetHost() != "kz-host1" || r.GetPoolGuid() == 0 || r.GetStorage() == "" {
		t.Errorf("plan's rescue %v: want host kz-host1, the label's GUID, kz1's storage", r)
	}
	var planned []string
	for _, s := range plan.GetPlan().GetSteps() {
		for _, pc := range s.GetCommands() {
			planned = append(planned, s.GetName()+" "+pc.GetHost()+" "+strings.Join(pc.GetArgv()[1:], " "))
		}
	}
	for _, want := range []string{
		"add-device kz-host1 -z kzrescue add device; set storage=iscsi://127.0.0.1:3260/luname.naa.600144f0a613c900000054521d550001; set id=0; end",
		"boot-rescue kz-host1 -z kzrescue boot",
		fmt.Sprintf("import kz-host1 kzrescue /usr/sbin/zpool import -R /mnt/1 -N -f -t kz1 %d", sim.SeedPoolGUID),
		"export kz-host1 kzrescue /usr/sbin/zpool export kz1",
		"halt-rescue kz-host1 -z kzrescue shutdown",
		"remove-device kz-host1 -z kzrescue remove device id=0",
	} {
		if !slices.Contains(planned, want) {
			t.Errorf("the plan has no %q; it has:\n  %s", want, strings.Join(planned, "\n  "))
		}
	}
	op, err := c.Rescue(ctx, &v1.RescueRequest{Zone: sim.SeedZone, With: sim.RescueZone}, nil)
	if err != nil || op.GetState() != v1.OperationState_OPERATION_STATE_SUCCEEDED {
		t.Fatalf("rescue: %v (%s: %s)\n%s", err, op.GetState(), op.GetError(), h.logs())
	}
	if p := h.physPath(); p != sim.KZPhysPath(0) {
		t.Errorf("after the rescue phys_path %s, want %s", p, sim.KZPhysPath(0))
	}
	h.rescueLeftClean()
	full, err := c.Operations.GetOperation(ctx, &v1.GetOperationRequest{Id: op.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	for step, want := range map[string]string{
		"add-device":    "kz-host1 zonecfg -z kzrescue add device; set storage=iscsi://127.0.0.1:3260/luname.naa.600144f0a613c900000054521d550001; set id=0; end",
		"boot-rescue":   "kz-host1 zoneadm -z kzrescue boot",
		"import":        fmt.Sprintf("kz-host1 zlogin kzrescue /usr/sbin/zpool import -R /mnt/1 -N -f -t kz1 %d", sim.SeedPoolGUID),
		"export":        "kz-host1 zlogin kzrescue /usr/sbin/zpool export kz1",
		"halt-rescue":   "kz-host1 zoneadm -z kzrescue shutdown",
		"remove-device": "kz-host1 zonecfg -z kzrescue remove device id=0",
	} {
		if ran := hostsOf(full.GetOperation(), step); !slices.Contains(ran, want) {
			t.Errorf("step %s ran %q, want %q", step, ran, want)
		}
	}
	// The zone host audited the storage host's calls.
	za, err := h.zoneDaemon.client().Audit.ListAudit(ctx, &v1.ListAuditRequest{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range za.GetRecords() {
		if strings.Contains(r.GetMethod(), "ZoneService/ZoneAction") && r.GetWho() == "cert:CN=storage1" && r.GetTarget() == "zone kzrescue" {
			n++
		}
	}
	if n < 6 {
		t.Errorf("the zone host audited %d zone calls on kzrescue, want every zone step's", n)
	}
	zoneadm(t, h.zone, "-z", sim.SeedZone, "boot")
}

// TestTwoHostsRescueUndone: a command the zone host runs fails (the
// import inside kzrescue): the storage host undoes the rescue, through
// the zone host (kzrescue shut down, the device removed), and says what
// failed where.
func TestTwoHostsRescueUndone(t *testing.T) {
	for _, f := range []sim.Fault{
		{Command: "zlogin", Match: "import", Action: sim.ActionFail, Exit: 1, Stderr: "cannot import 'rpool': I/O error"},
		{Command: "zoneadm", Match: "-z kzrescue boot", Action: sim.ActionFail, Exit: 1, Stderr: "zoneadm: zone 'kzrescue': boot failed"},
		{Command: "zonecfg", Match: "add device", Action: sim.ActionFailAfter, Exit: 1, Stderr: "zonecfg: injected failure after the change"},
	} {
		t.Run(f.Command+" "+f.Match, func(t *testing.T) {
			h := newTwoHostsRescue(t, true)
			before := h.physPath()
			if err := sim.AddFault(h.zone, f); err != nil {
				t.Fatal(err)
			}
			h.start()
			c := h.storageD.client()
			op, _ := c.Rescue(context.Background(), &v1.RescueRequest{Zone: sim.SeedZone, With: sim.RescueZone}, nil)
			if op.GetState() != v1.OperationState_OPERATION_STATE_ROLLED_BACK || !strings.Contains(op.GetError(), "on peer kz-host1") ||
				!strings.Contains(op.GetError(), f.Stderr) {
				t.Fatalf("rescue: %s: %s; want rolled back, naming the peer and its error\n%s", op.GetState(), op.GetError(), h.logs())
			}
			h.rescueLeftClean()
			if p := h.physPath(); p != before {
				t.Errorf("phys_path %s after an undone rescue, was %s", p, before)
			}
			full, err := c.Operations.GetOperation(context.Background(), &v1.GetOperationRequest{Id: op.GetId()})
			if err != nil {
				t.Fatal(err)
			}
			if undo := hostsOf(full.GetOperation(), "add-device"); !slices.Contains(undo, "kz-host1 zonecfg -z kzrescue remove device id=0") {
				t.Errorf("add-device ran and undid %q: want the device removed on kz-host1", undo)
			}
		})
	}
}

// TestTwoHostsRescueRefusals: what stops a rescue on a zone host before
// anything changes: its volctld down, kz1 running there, no zlogin
// configured there.
func TestTwoHostsRescueRefusals(t *testing.T) {
	ctx := context.Background()
	req := &v1.RescueRequest{Zone: sim.SeedZone, With: sim.RescueZone}
	t.Run("peer down", func(t *testing.T) {
		h := newTwoHostsRescue(t, true)
		h.storageD = startDaemon(t, h.sCfg, h.sSock)
		_, err := h.storageD.client().Rescue(ctx, req, nil)
		if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "peer kz-host1 at "+h.zAddr+" did not answer") {
			t.Fatalf("with the zone host's volctld down: %v, want FailedPrecondition naming kz-host1", err)
		}
		h.rescueLeftClean()
	})
	t.Run("zone running there", func(t *testing.T) {
		h := newTwoHostsRescue(t, true)
		if err := sim.Update(h.zone, func(s *sim.State) error { s.Zone(sim.SeedZone).State = sim.ZoneRunning; return nil }); err != nil {
			t.Fatal(err)
		}
		h.start()
		_, err := h.storageD.client().Rescue(ctx, req, nil)
		if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "zone kz1 is running") {
			t.Fatalf("kz1 running on the zone host: %v, want FailedPrecondition", err)
		}
	})
	t.Run("no zlogin there", func(t *testing.T) {
		h := newTwoHostsRescue(t, false)
		h.start()
		_, err := h.storageD.client().Rescue(ctx, req, nil)
		if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "peer kz-host1 has no zlogin configured") {
			t.Fatalf("no zlogin on the zone host: %v, want FailedPrecondition", err)
		}
		h.rescueLeftClean()
	})
}

// TestZoneHostRefusesRescueCalls: the zone host checks a rescue verb's
// arguments and its zones itself, whatever the storage host asks: a bad
// argument is InvalidArgument before anything runs; a call its zones do
// not allow (kz1 running, another disk than kz1's boot disk, a rescue
// zone whose own disk is id 0) is refused, permanent, and nothing is
// added to kzrescue.
func TestZoneHostRefusesRescueCalls(t *testing.T) {
	h := newTwoHostsRescue(t, true)
	h.startZone()
	tc, err := client.TLSConfig(h.pki.Cert["storage1"], h.pki.Key["storage1"], h.pki.CA, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(h.zAddr, grpc.WithTransportCredentials(credentials.NewTLS(tc)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	zs := v1.NewZoneServiceClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const kz1Disk = "iscsi://127.0.0.1:3260/luname.naa.600144f0a613c900000054521d550001"
	good := func() *v1.ZoneRescue {
		return &v1.ZoneRescue{Zone: "kz1", Storage: kz1Disk, DeviceId: 0, Pool: "rpool", PoolGuid: sim.SeedPoolGUID, TempName: "kz1", Altroot: "/mnt/1"}
	}
	n := 0
	call := func(verb v1.ZoneVerb, with string, r *v1.ZoneRescue) (*v1.ZoneActionResponse, error) {
		n++
		return zs.ZoneAction(ctx, &v1.ZoneActionRequest{Key: fmt.Sprintf("test/%d", n), Zone: with, Verb: verb, Rescue: r})
	}
	for _, tc := range []struct {
		name string
		verb v1.ZoneVerb
		with string
		edit func(r *v1.ZoneRescue) *v1.ZoneRescue
	}{
		{"no arguments", v1.ZoneVerb_ZONE_VERB_RESCUE_ADD_DEVICE, "kzrescue", func(*v1.ZoneRescue) *v1.ZoneRescue { return nil }},
		{"arguments to a boot", v1.ZoneVerb_ZONE_VERB_BOOT, "kzrescue", nil},
		{"device id 1", v1.ZoneVerb_ZONE_VERB_RESCUE_ADD_DEVICE, "kzrescue", func(r *v1.ZoneRescue) *v1.ZoneRescue { r.DeviceId = 1; return r }},
		{"storage with a ;", v1.ZoneVerb_ZONE_VERB_RESCUE_ADD_DEVICE, "kzrescue", func(r *v1.ZoneRescue) *v1.ZoneRescue { r.Storage += ";set id=5"; return r }},
		{"zone name", v1.ZoneVerb_ZONE_VERB_RESCUE_ADD_DEVICE, "kzrescue", func(r *v1.ZoneRescue) *v1.ZoneRescue { r.Zone = "-kz1"; return r }},
		{"itself", v1.ZoneVerb_ZONE_VERB_RESCUE_ADD_DEVICE, "kz1", nil},
		{"temporary name", v1.ZoneVerb_ZONE_VERB_RESCUE_IMPORT, "kzrescue", func(r *v1.ZoneRescue) *v1.ZoneRescue { r.TempName = "mirror"; return r }},
		{"temporary name for the shell", v1.ZoneVerb_ZONE_VERB_RESCUE_IMPORT, "kzrescue", func(r *v1.ZoneRescue) *v1.ZoneRescue { r.TempName = "kz1;reboot"; return r }},
		{"pool", v1.ZoneVerb_ZONE_VERB_RESCUE_IMPORT, "kzrescue", func(r *v1.ZoneRescue) *v1.ZoneRescue { r.Pool = "c0t0d0"; return r }},
		{"altroot /", v1.ZoneVerb_ZONE_VERB_RESCUE_IMPORT, "kzrescue", func(r *v1.ZoneRescue) *v1.ZoneRescue { r.Altroot = "/"; return r }},
		{"altroot ..", v1.ZoneVerb_ZONE_VERB_RESCUE_IMPORT, "kzrescue", func(r *v1.ZoneRescue) *v1.ZoneRescue { r.Altroot = "/mnt/../etc"; return r }},
		{"altroot $", v1.ZoneVerb_ZONE_VERB_RESCUE_IMPORT, "kzrescue", func(r *v1.ZoneRescue) *v1.ZoneRescue { r.Altroot = "/mnt/$HOME"; return r }},
	} {
		r := good()
		if tc.edit != nil {
			r = tc.edit(r)
		}
		if tc.verb == v1.ZoneVerb_ZONE_VERB_BOOT {
			r = good()
		}
		_, err := call(tc.verb, tc.with, r)
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("%s: %v, want InvalidArgument", tc.name, err)
		}
	}
	// A key used for one call is not another's.
	if _, err := call(v1.ZoneVerb_ZONE_VERB_RESCUE_REMOVE_DEVICE, "kzrescue", good()); err != nil {
		t.Fatalf("remove-device of a device that is not there: %v", err)
	}
	other := good()
	other.Storage = "iscsi://127.0.0.1:3260/luname.naa.600144f0a613c900000054521d550002"
	n-- // the same key
	if _, err := call(v1.ZoneVerb_ZONE_VERB_RESCUE_REMOVE_DEVICE, "kzrescue", other); status.Code(err) != codes.InvalidArgument {
		t.Errorf("the key again with other arguments: %v, want InvalidArgument", err)
	}

	// The zones, as this host reads them.
	refused := func(name, want string, r *v1.ZoneRescue) {
		t.Helper()
		resp, err := call(v1.ZoneVerb_ZONE_VERB_RESCUE_ADD_DEVICE, "kzrescue", r)
		if err != nil || !resp.GetPermanent() || !strings.Contains(resp.GetError(), want) {
			t.Errorf("%s: %v %v, want a permanent refusal saying %q", name, resp, err, want)
		}
		zst, err := sim.Load(h.zone)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range zst.Zone(sim.RescueZone).Devices {
			if d.ID == 0 {
				t.Fatalf("%s: kzrescue has device id 0 (%s)", name, d.Storage)
			}
		}
	}
	refused("another disk", "zone kz1 boots from "+kz1Disk+" here, not", other)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(sim.Update(h.zone, func(s *sim.State) error { s.Zone(sim.SeedZone).State = sim.ZoneRunning; return nil }))
	refused("kz1 running", "zone kz1 is running", good())
	must(sim.Update(h.zone, func(s *sim.State) error { s.Zone(sim.SeedZone).State = sim.ZoneInstalled; return nil }))
	must(sim.Update(h.zone, func(s *sim.State) error { s.Zone(sim.RescueZone).State = sim.ZoneRunning; return nil }))
	refused("kzrescue running", "rescue zone kzrescue is running", good())
	must(sim.Update(h.zone, func(s *sim.State) error {
		s.Zone(sim.RescueZone).State = sim.ZoneInstalled
		s.Zone(sim.RescueZone).Devices[0].ID = 0
		return nil
	}))
	resp, err := call(v1.ZoneVerb_ZONE_VERB_RESCUE_ADD_DEVICE, "kzrescue", good())
	if err != nil || !resp.GetPermanent() || !strings.Contains(resp.GetError(), "has device id 0 already") {
		t.Errorf("kzrescue's own disk id 0: %v %v, want a permanent refusal", resp, err)
	}
}

// TestTwoHostsRescueResumes: the storage host's volctld is killed (kill
// -9) while a command of the rescue hangs on the zone host, before or
// after its change; the hung command is killed there (the zone host's
// call fails), and a new volctld on the storage host's journal resumes
// the rescue to its end: every call made again with its key converges or
// is replayed, and kz1 boots on the zone host.
func TestTwoHostsRescueResumes(t *testing.T) {
	for _, f := range []sim.Fault{
		{Command: "zonecfg", Match: "add device", Action: sim.ActionHangAfter},
		{Command: "zlogin", Match: "import", Action: sim.ActionHang},
		{Command: "zlogin", Match: "export", Action: sim.ActionHangAfter},
	} {
		t.Run(f.Command+" "+f.Match+" "+f.Action, func(t *testing.T) {
			h := newTwoHostsRescue(t, true)
			f.Times = 1
			if err := sim.AddFault(h.zone, f); err != nil {
				t.Fatal(err)
			}
			h.start()
			c := h.storageD.client()
			go func() {
				_, _ = c.Rescue(context.Background(), &v1.RescueRequest{Zone: sim.SeedZone, With: sim.RescueZone}, nil)
			}()
			waitHung(t, h.zone, "")
			h.storageD.kill()
			simtest.KillHung(h.zone)
			if err := sim.ClearFaults(h.zone); err != nil {
				t.Fatal(err)
			}
			h.storageD = startDaemon(t, h.sCfg, h.sSock)
			op := waitTerminal(t, h.storageD.client(), 1)
			if op.GetState() != v1.OperationState_OPERATION_STATE_SUCCEEDED {
				t.Fatalf("resumed rescue: %s: %s\n%s", op.GetState(), op.GetError(), h.logs())
			}
			if p := h.physPath(); p != sim.KZPhysPath(0) {
				t.Errorf("after the resumed rescue phys_path %s", p)
			}
			h.rescueLeftClean()
			zoneadm(t, h.zone, "-z", sim.SeedZone, "boot")
		})
	}
}
