package solaris

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/volctl/volctl/daemon/comstar"
	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/kz"
	"github.com/volctl/volctl/daemon/zones"
	"github.com/volctl/volctl/store"
)

// The capture's decision (assess) by table, without processes: one row per
// consent, per refusal and per warning, each a change to one capture's
// facts (a.vol's LU exported, its kernel zone kz1 running on this host, by
// the LU's GUID). The texts are those the plan and the CLI show.

const (
	aVol  = "pool/idisk0"
	aSnap = "pool/idisk0@snap1"
	aGUID = "600144F0A613C900000054521D550001"
	aGUI2 = "600144F0A613C900000054521D550002"
	aRef  = "iscsi:///luname.naa." + aGUID
	aPeer = "kz-host1"
	gib   = 1 << 30
)

// luBlock is one LU as stmfadm list-lu -v prints it, on vol, with the
// properties in set printed instead.
func luBlock(guid, vol string, set map[string]string) string {
	props := [][2]string{
		{"Operational Status", "Online"}, {"Provider Name", "sbd"}, {"Alias", "/dev/zvol/rdsk/" + vol},
		{"View Entry Count", "1"}, {"Data File", "/dev/zvol/rdsk/" + vol}, {"Meta File", "not set"},
		{"Size", "1073741824"}, {"Block Size", "512"}, {"Management URL", "not set"},
		{"Vendor ID", "SUN     "}, {"Product ID", "COMSTAR         "}, {"Serial Num", "not set"},
		{"Write Protect", "Disabled"}, {"Writeback Cache", "Enabled"}, {"Access State", "Active"},
	}
	var b strings.Builder
	fmt.Fprintf(&b, "LU Name: %s\n", guid)
	for _, p := range props {
		v := p[1]
		if s, ok := set[p[0]]; ok {
			v = s
		}
		fmt.Fprintf(&b, "    %-18s: %s\n", p[0], v)
	}
	return b.String()
}

func parseLUs(t *testing.T, blocks ...string) []comstar.LU {
	t.Helper()
	lus, err := comstar.ParseListLU([]byte(strings.Join(blocks, "")))
	if err != nil {
		t.Fatal(err)
	}
	return lus
}

var (
	kz1    = store.Zone{Name: "kz1", State: "running", Brand: "solaris-kz", Storage: []string{aRef}}
	kz1Dev = zones.Device{ID: 0, Storage: aRef, BootPri: 0}
	aCaps  = store.Capabilities{{Name: store.CapDeleteLUKeep, Supported: true, Detail: "stmfadm delete-lu -k: usage names -k"},
		{Name: store.CapWritten, Supported: true}}
	peerDown = zones.Report{Peer: aPeer, Err: errors.New("peer kz-host1: connection refused")}
)

// aFacts is a clean capture: assess has nothing to say of it.
func aFacts(t *testing.T) facts {
	lus := parseLUs(t, luBlock(aGUID, aVol, nil), luBlock(aGUI2, "pool/idisk1", nil))
	lu := toStoreLU(lus[0], []comstar.View{{Entry: 0, HostGroup: "hg-kz", TargetGroup: "tg-a", LUN: 0}})
	return facts{
		id: store.Identity{Volume: aVol, Snapshot: aSnap, Volsize: gib, SnapshotVolsize: gib, HistoryKnown: true, WrittenBefore: 8192,
			LUs: []store.LU{lu}, Zones: []store.Zone{kz1}},
		snapshots: []string{"pool/idisk0@snap0", aSnap},
		ex: exports{lus: lus, auxKnown: true, zones: []zoneStorage{{
			zone: kz.Zone{Name: "kz1", State: "running", Brand: "solaris-kz"}, storage: []string{aRef}, auxListed: true,
			devices: []kz.Device{{ID: 0, Storage: aRef, BootPri: 0, Resource: "device"}}}}},
		fabric: fabric{targetGroups: map[string][]string{"tg-a": {"tgt-a"}}, hostGroups: map[string][]string{"hg-kz": {"iqn.x:storage", "iqn.x:win1"}}},
		local:  []store.Zone{kz1},
		disks:  []zoneDisks{{zone: kz1, disks: []disk{{dev: kz1Dev, volume: aVol}}}},
	}
}

// onPeerOnly moves kz1 to the peer (which reports it running there).
func onPeerOnly(f *facts) {
	z := kz1
	z.Host = aPeer
	f.ex.zones, f.local = nil, nil
	f.answers = []zones.Report{{Peer: aPeer, Initiators: []string{"iqn.x:kz-host1"},
		Zones: []zones.Zone{{Name: "kz1", State: "running", Brand: "solaris-kz", Storage: []string{aRef}, AuxListed: true, Devices: []zones.Device{kz1Dev}}}}}
	f.pv = peerViewOf(f.answers)
	f.id.Zones = []store.Zone{z}
	f.disks = []zoneDisks{{zone: z, disks: []disk{{dev: kz1Dev, volume: aVol}}}}
}

// session logs initiator in to tgt-a, through which the LU's view
// exposes it.
func session(f *facts, initiator, alias string) {
	f.fabric.targets = append(f.fabric.targets, comstar.Target{Name: "tgt-a", Sessions: []comstar.Session{{Initiator: initiator, Alias: alias}}})
}

// otherDisk gives kz1 a second device, on vol ("" for storage that is
// not a volume of this host), with a boot priority (-1: none).
func otherDisk(f *facts, vol string, bootpri int) {
	d := disk{dev: zones.Device{ID: 1, Storage: "iscsi:///luname.naa." + aGUI2, BootPri: bootpri}, volume: vol}
	f.disks[0].disks = append(f.disks[0].disks, d)
}

func TestAssess(t *testing.T) {
	halt := store.Options{HaltZones: true}
	type row struct {
		name     string
		change   func(*facts, *store.Options, *store.Capabilities)
		warnings []string
		err      string   // the whole text; "" none
		consents []string // the consents missing, in order (name, or name/peer)
	}
	precondition := func(text string) string { return text + ": failed precondition" }
	rows := []row{
		{name: "clean: nothing to say"},

		// Consents: each missing one, given, and all together.
		{name: "consent destroy_newer: newer snapshots go",
			change: func(f *facts, _ *store.Options, _ *store.Capabilities) {
				f.snapshots = append(f.snapshots, "pool/idisk0@snap2", "pool/idisk0@snap3")
			},
			err:      "rolling back to pool/idisk0@snap1 destroys the newer snapshots pool/idisk0@snap2, pool/idisk0@snap3: needs consent destroy_newer",
			consents: []string{"destroy_newer"}},
		{name: "consent destroy_newer given",
			change: func(f *facts, o *store.Options, _ *store.Capabilities) {
				f.snapshots = append(f.snapshots, "pool/idisk0@snap2")
				o.DestroyNewer = true
			}},
		{name: "consent skip_peers: a peer did not answer",
			change: func(f *facts, _ *store.Options, _ *store.Capabilities) {
				f.answers = []zones.Report{peerDown}
				f.pv = peerViewOf(f.answers)
			},
			err:      "peer kz-host1: connection refused: volctl cannot tell whether a zone there uses pool/idisk0; start its volctld, or, if you know none does, consent to going on without peer kz-host1 (its initiators' sessions then count as unknown, see accept_sessions): needs consent skip_peers",
			consents: []string{"skip_peers/kz-host1"}},
		{name: "warning: a peer skipped (skip_peers)",
			change: func(f *facts, o *store.Options, _ *store.Capabilities) {
				f.answers = []zones.Report{peerDown}
				f.pv = peerViewOf(f.answers)
				o.SkipPeers = []string{aPeer}
			},
			warnings: []string{"peer kz-host1: connection refused; skipped (skip_peers): a zone there on pool/idisk0 would not be stopped, and its initiators are not known"}},
		{name: "consent accept_sessions: an initiator not of a zone's host",
			change:   func(f *facts, _ *store.Options, _ *store.Capabilities) { session(f, "iqn.x:win1", "win1") },
			warnings: []string{"initiator iqn.x:win1 (win1) sees LU " + aGUID + " through tgt-a (LUN 0): it loses the disk for the outage window, and its cached data goes stale"},
			err:      "initiator iqn.x:win1 (win1) can see LU 600144F0A613C900000054521D550001 of pool/idisk0, and it is not an initiator of a host whose zones on the LU are detached: stop it using the LU, or consent to its sessions: needs consent accept_sessions",
			consents: []string{"accept_sessions"}},
		{name: "consent accept_sessions, a peer skipped: its initiators are not known",
			change: func(f *facts, o *store.Options, _ *store.Capabilities) {
				session(f, "iqn.x:win1", "")
				f.answers = []zones.Report{peerDown}
				f.pv = peerViewOf(f.answers)
				o.SkipPeers = []string{aPeer}
			},
			warnings: []string{
				"peer kz-host1: connection refused; skipped (skip_peers): a zone there on pool/idisk0 would not be stopped, and its initiators are not known",
				"initiator iqn.x:win1 sees LU " + aGUID + " through tgt-a (LUN 0): it loses the disk for the outage window, and its cached data goes stale",
			},
			err:      "initiator iqn.x:win1 can see LU 600144F0A613C900000054521D550001 of pool/idisk0, and it is not an initiator of a host whose zones on the LU are detached (peer kz-host1 did not answer, so its initiators are not known): stop it using the LU, or consent to its sessions: needs consent accept_sessions",
			consents: []string{"accept_sessions"}},
		{name: "warning: a session consented to (accept_sessions)",
			change: func(f *facts, o *store.Options, _ *store.Capabilities) {
				session(f, "iqn.x:win1", "win1")
				o.AcceptSessions = true
			},
			warnings: []string{"initiator iqn.x:win1 (win1) sees LU " + aGUID + " through tgt-a (LUN 0): it loses the disk for the outage window, and its cached data goes stale"}},
		{name: "warning: this host's initiator, its zone detached: expected",
			change: func(f *facts, _ *store.Options, _ *store.Capabilities) {
				session(f, "iqn.x:storage", "")
				f.initiators = []string{"IQN.x:storage"}
			},
			warnings: []string{"initiator iqn.x:storage of this host sees LU " + aGUID + " through tgt-a (LUN 0): expected, its zones on the LU are detached"}},
		{name: "consent only_these_disks: the zone's other disk left out",
			change:   func(f *facts, _ *store.Options, _ *store.Capabilities) { otherDisk(f, "pool/idisk1", -1) },
			warnings: []string{"zone kz1 has other disks that this rollback leaves out: pool/idisk1"},
			err:      "zone kz1 has other disks that this rollback leaves out: pool/idisk1; roll them back together (zone kz1, or each volume's snapshot named), or consent to leaving them out: needs consent only_these_disks",
			consents: []string{"only_these_disks"}},
		{name: "consent only_these_disks: two boot devices (a mirrored root pool), on a peer",
			change: func(f *facts, _ *store.Options, _ *store.Capabilities) {
				onPeerOnly(f)
				otherDisk(f, "pool/idisk1", 1)
			},
			warnings: []string{"zone kz1 on peer kz-host1 has other disks that this rollback leaves out: pool/idisk1 (boot device, bootpri 1); 2 of its devices are boot devices (a bootpri, or the storage of its rootzpool), so they look like the halves of a mirrored root pool: the guest would resilver the rolled-back half from the other, undoing the rollback"},
			err:      "zone kz1 on peer kz-host1 has other disks that this rollback leaves out: pool/idisk1 (boot device, bootpri 1); 2 of its devices are boot devices (a bootpri, or the storage of its rootzpool), so they look like the halves of a mirrored root pool: the guest would resilver the rolled-back half from the other, undoing the rollback; roll them back together (zone kz1, or each volume's snapshot named), or consent to leaving them out: needs consent only_these_disks",
			consents: []string{"only_these_disks"}},
		{name: "warning: a disk left out that is not a volume here, consented to (only_these_disks)",
			change: func(f *facts, o *store.Options, _ *store.Capabilities) {
				otherDisk(f, "", -1)
				o.OnlyTheseDisks = true
			},
			warnings: []string{"zone kz1 has other disks that this rollback leaves out: iscsi:///luname.naa." + aGUI2 + " (not a volume of this host) (consent only_these_disks given)"}},
		{name: "the zone's other disk is in the group: nothing to say",
			change: func(f *facts, o *store.Options, _ *store.Capabilities) {
				otherDisk(f, "pool/idisk1", -1)
				o.Group = []string{"pool/idisk1@snap1"}
			}},
		{name: "consent halt_zones: a zone runs",
			change:   func(_ *facts, o *store.Options, _ *store.Capabilities) { o.HaltZones = false },
			err:      "zone kz1 is running on pool/idisk0; stopping it for the rollback (shut down, halted if that hangs; booted again afterwards) needs consent halt_zones",
			consents: []string{"halt_zones"}},
		{name: "consent halt_zones: a zone runs on a peer",
			change: func(f *facts, o *store.Options, _ *store.Capabilities) {
				onPeerOnly(f)
				o.HaltZones = false
			},
			err:      "zone kz1 is running on peer kz-host1 on pool/idisk0; stopping it for the rollback (shut down, halted if that hangs; booted again afterwards) needs consent halt_zones",
			consents: []string{"halt_zones"}},
		{name: "every consent missing: joined, in order",
			change: func(f *facts, o *store.Options, _ *store.Capabilities) {
				f.snapshots = append(f.snapshots, "pool/idisk0@snap2")
				f.answers = []zones.Report{peerDown}
				f.pv = peerViewOf(f.answers)
				session(f, "iqn.x:win1", "")
				otherDisk(f, "pool/idisk1", -1)
				o.HaltZones = false
			},
			warnings: []string{
				"initiator iqn.x:win1 sees LU " + aGUID + " through tgt-a (LUN 0): it loses the disk for the outage window, and its cached data goes stale",
				"zone kz1 has other disks that this rollback leaves out: pool/idisk1",
			},
			err: strings.Join([]string{
				"rolling back to pool/idisk0@snap1 destroys the newer snapshots pool/idisk0@snap2: needs consent destroy_newer",
				"peer kz-host1: connection refused: volctl cannot tell whether a zone there uses pool/idisk0; start its volctld, or, if you know none does, consent to going on without peer kz-host1 (its initiators' sessions then count as unknown, see accept_sessions): needs consent skip_peers",
				"initiator iqn.x:win1 can see LU 600144F0A613C900000054521D550001 of pool/idisk0, and it is not an initiator of a host whose zones on the LU are detached (peer kz-host1 did not answer, so its initiators are not known): stop it using the LU, or consent to its sessions: needs consent accept_sessions",
				"zone kz1 has other disks that this rollback leaves out: pool/idisk1; roll them back together (zone kz1, or each volume's snapshot named), or consent to leaving them out: needs consent only_these_disks",
				"zone kz1 is running on pool/idisk0; stopping it for the rollback (shut down, halted if that hangs; booted again afterwards) needs consent halt_zones",
			}, "\n"),
			consents: []string{"destroy_newer", "skip_peers/kz-host1", "accept_sessions", "only_these_disks", "halt_zones"}},

		// Refusals ("Fail closed"): each one; a refusal drops the consents.
		{name: "refused: an LU whose data file list-lu could not print (standby)",
			change: func(f *facts, _ *store.Options, _ *store.Capabilities) {
				f.ex.lus = parseLUs(t, luBlock(aGUID, aVol, nil), luBlock(aGUI2, "pool/idisk1", map[string]string{
					"Data File": "prop unavailable in standby", "Size": "prop unavailable in standby", "Access State": "Standby"}))
			},
			err: precondition("LU " + aGUI2 + ` cannot be read whole (stmfadm list-lu -v: Data File, Size: "prop unavailable in standby"; Access State: "Standby"), so volctl cannot tell whether it is on pool/idisk0: ` +
				"the LU is not Active on this node (ALUA), so sbd has closed its zvol and zfs would roll the data back under it; make it Active on this node (stmfadm import-lu of its data file does, or fail the HA pair over to this node) and try again")},
		{name: "refused: an LU whose data file list-lu could not read (error), newer snapshots too",
			change: func(f *facts, _ *store.Options, _ *store.Capabilities) {
				f.snapshots = append(f.snapshots, "pool/idisk0@snap2")
				f.ex.lus = parseLUs(t, luBlock(aGUID, aVol, nil), luBlock(aGUI2, "pool/idisk1", map[string]string{"Data File": "<error retrieving property>"}))
			},
			err: precondition("LU " + aGUI2 + ` cannot be read whole (stmfadm list-lu -v: Data File: "<error retrieving property>"), so volctl cannot tell whether it is on pool/idisk0: ` +
				"fix what keeps stmfadm from reading it (the system log has sbd's and stmf's messages) and try again")},
		{name: "refused: the volume's LU with a property list-lu could not read",
			change: func(f *facts, _ *store.Options, _ *store.Capabilities) {
				f.ex.lus = parseLUs(t, luBlock(aGUID, aVol, map[string]string{"Size": "<error retrieving property>"}))
			},
			err: precondition("LU " + aGUID + ` on pool/idisk0 cannot be read whole (stmfadm list-lu -v: Size: "<error retrieving property>"), so volctl cannot capture it to restore it exactly: ` +
				"fix what keeps stmfadm from reading it (the system log has sbd's and stmf's messages) and try again")},
		{name: "refused: the volume's LU is neither Online nor Offline; an unreadable one named too",
			change: func(f *facts, _ *store.Options, _ *store.Capabilities) {
				f.ex.lus = parseLUs(t, luBlock(aGUID, aVol, map[string]string{"Operational Status": "Onlining"}),
					luBlock(aGUI2, "pool/idisk1", map[string]string{"Data File": "<error retrieving property>"}))
			},
			err: precondition("LU "+aGUID+` on pool/idisk0 is "Onlining" (stmfadm list-lu -v, Operational Status): volctl restores an LU to Online or Offline; wait until it is one of them and try again`) + "\n" +
				precondition("LU "+aGUI2+` cannot be read whole (stmfadm list-lu -v: Data File: "<error retrieving property>"), so volctl cannot tell whether it is on pool/idisk0: `+
					"fix what keeps stmfadm from reading it (the system log has sbd's and stmf's messages) and try again")},
		{name: "refused: a zone's storage volctl cannot read (it might be this volume)",
			change: func(f *facts, _ *store.Options, _ *store.Capabilities) {
				f.ex.zones = append(f.ex.zones, zoneStorage{zone: kz.Zone{Name: "zbad", State: "installed", Brand: "solaris"}, storage: []string{"file:///export/zbad.img"}})
			},
			err: precondition(`zone zbad: storage reference volctl cannot read: "file:///export/zbad.img": unknown URI type "file" (suri(7) has dev, lu, iscsi and nfs), so volctl cannot tell whether the zone uses pool/idisk0; correct the zone's configuration (zonecfg -z zbad info)`)},
		{name: "refused: a peer's zone storage volctl cannot read",
			change: func(f *facts, _ *store.Options, _ *store.Capabilities) {
				f.answers = []zones.Report{{Peer: aPeer, Zones: []zones.Zone{{Name: "zbad", State: "installed", Brand: "solaris", Storage: []string{"iscsi://h/luname.naa.600144F0"}}}}}
				f.pv = peerViewOf(f.answers)
			},
			err: precondition(`zone zbad on peer kz-host1: storage reference volctl cannot read: "iscsi://h/luname.naa.600144F0": iscsi URI path is neither luname.naa.ID, luname.eui.ID nor target.IQN,lun.N, so volctl cannot tell whether the zone uses pool/idisk0; correct the zone's configuration there (zonecfg -z zbad info)`)},
		{name: "refused: a zone suspended on a peer (configured here)",
			change: func(f *facts, _ *store.Options, _ *store.Capabilities) {
				f.local[0].State = "configured"
				f.answers = []zones.Report{{Peer: aPeer, Zones: []zones.Zone{{Name: "kz1", State: "installed", Brand: "solaris-kz", Aux: "suspended", AuxListed: true, Storage: []string{aRef}}}}}
				f.pv = peerViewOf(f.answers)
			},
			err: precondition("zone kz1 is suspended on peer kz-host1: a rollback now would lose the guest; finish or cancel that first")},
		{name: "refused: a zone attached on two hosts",
			change: func(f *facts, _ *store.Options, _ *store.Capabilities) {
				f.answers = []zones.Report{{Peer: aPeer, Zones: []zones.Zone{{Name: "kz1", State: "installed", Brand: "solaris-kz", AuxListed: true, Storage: []string{aRef}}}}}
				f.pv = peerViewOf(f.answers)
			},
			err: precondition("zone kz1 is attached on more than one host (running on this host, installed on peer kz-host1): volctl will not guess which owns the disk")},
		{name: "warning: a zone also configured on a peer",
			change: func(f *facts, _ *store.Options, _ *store.Capabilities) {
				f.answers = []zones.Report{{Peer: aPeer, Zones: []zones.Zone{{Name: "kz1", State: "configured", Brand: "solaris-kz", Storage: []string{aRef}}}}}
				f.pv = peerViewOf(f.answers)
				f.id.Zones[0].ConfiguredOn = []string{aPeer}
			},
			warnings: []string{"zone kz1 is also configured on peer kz-host1 (detached there); volctl acts on it on this host only"}},
		{name: "refused: a view's host group volctl will not pass to a command",
			change: func(f *facts, _ *store.Options, _ *store.Capabilities) { f.id.LUs[0].Views[0].HostGroup = "-hg" },
			err:    precondition(`the platform reported group "-hg" in a view of ` + aGUID + `, which volctl will not pass to a command: invalid group name "-hg": must not start with '-'`)},
		{name: "refused: a view's LUN out of range",
			change: func(f *facts, _ *store.Options, _ *store.Capabilities) { f.id.LUs[0].Views[0].LUN = 16384 },
			err:    precondition("the platform reported LUN 16384 in a view of " + aGUID + ", which volctl will not pass to a command: out of range 0..16383")},
		{name: "refused: an LU GUID volctl will not pass to a command",
			change: func(f *facts, _ *store.Options, _ *store.Capabilities) { f.id.LUs[0].GUID = "600144F0-1" },
			err:    precondition(`the platform reported LU GUID "600144F0-1", which volctl will not pass to a command: invalid GUID "600144F0-1": must be 32 hexadecimal digits long`)},
		{name: "refused: a peer's zone name volctl will not pass to a command",
			change: func(f *facts, _ *store.Options, _ *store.Capabilities) {
				onPeerOnly(f)
				f.id.Zones[0].Name = "-kz1"
			},
			err: precondition(`the platform reported zone name "-kz1", which volctl will not pass to a command: invalid zone name "-kz1": must start with a letter or digit`)},
		{name: "refused: a zone's devices could not be mapped to volumes",
			change: func(f *facts, _ *store.Options, _ *store.Capabilities) {
				onPeerOnly(f)
				f.disks[0] = zoneDisks{zone: f.id.Zones[0], err: fmt.Errorf("storage X names LUs of several volumes (pool/a, pool/b): volctl will not guess which one the zone uses: %w", engine.ErrPrecondition)}
			},
			err: precondition("zone kz1 on peer kz-host1: storage X names LUs of several volumes (pool/a, pool/b): volctl will not guess which one the zone uses")},
		{name: "refused: an exported volume where stmfadm has no delete-lu -k; consents dropped",
			change: func(f *facts, o *store.Options, c *store.Capabilities) {
				f.snapshots = append(f.snapshots, "pool/idisk0@snap2")
				o.HaltZones = false
				*c = store.Capabilities{{Name: store.CapDeleteLUKeep, Detail: "stmfadm delete-lu -k: exit 1, usage without -k"}}
			},
			err: precondition("this host's stmfadm has no delete-lu -k (probed: stmfadm delete-lu -k: exit 1, usage without -k): a delete-lu without it removes every view of the LU, so volctl will not roll back an exported volume here")},
		{name: "refused: delete-lu -k not probed",
			change: func(_ *facts, _ *store.Options, c *store.Capabilities) { *c = nil },
			err:    precondition("this host's stmfadm has no delete-lu -k (probed: not probed): a delete-lu without it removes every view of the LU, so volctl will not roll back an exported volume here")},
		{name: "refused: a zone suspended",
			change: func(f *facts, _ *store.Options, _ *store.Capabilities) { f.id.Zones[0].Aux = "suspended" },
			err:    precondition("zone kz1 is suspended: a rollback now would lose the guest (a suspend image or a migration in flight resumes against a different disk); finish or cancel the migration, or boot and shut the zone down, first")},
		{name: "refused: a zone migrating out, on a peer",
			change: func(f *facts, _ *store.Options, _ *store.Capabilities) {
				onPeerOnly(f)
				f.id.Zones[0].Aux = "migrating-out"
			},
			err: precondition("zone kz1 is migrating-out on peer kz-host1: a rollback now would lose the guest (a suspend image or a migration in flight resumes against a different disk); finish or cancel the migration, or boot and shut the zone down, first")},
		{name: "refused: auxiliary state unknown with keep_hostdata",
			change: func(f *facts, o *store.Options, _ *store.Capabilities) {
				f.id.Zones[0].Aux = auxUnknown
				o.KeepHostdata = true
			},
			err: precondition("zone kz1 is not shown by zoneadm list -s, so volctl cannot tell whether it is suspended; with --keep-hostdata a suspended zone would resume a memory image against a different disk. Roll back without --keep-hostdata")},
		{name: "refused: a zone in a state volctl does not act on",
			change: func(f *facts, _ *store.Options, _ *store.Capabilities) { f.id.Zones[0].State = "incomplete" },
			err:    precondition("zone kz1 is incomplete: volctl acts only on zones that are running, installed or configured; bring it to one of those first")},

		// Warnings: each one.
		{name: "warning: no LU (no delete-lu -k needed)",
			change: func(f *facts, _ *store.Options, c *store.Capabilities) {
				f.id.LUs = nil
				*c = store.Capabilities{{Name: store.CapWritten, Supported: true}}
			},
			warnings: []string{"no COMSTAR LU is backed by pool/idisk0: only the zfs rollback will run"}},
		{name: "warning: zpool history not read whole",
			change:   func(f *facts, _ *store.Options, _ *store.Capabilities) { f.id.HistoryKnown = false },
			warnings: []string{"zpool history of pool/idisk0 could not be read whole: if the rollback is interrupted, whether it took effect is decided by running it again"}},
		{name: "warning: an Offline LU",
			change: func(f *facts, _ *store.Options, _ *store.Capabilities) {
				f.id.LUs[0].OperationalStatus = comstar.StatusOffline
			},
			warnings: []string{"LU " + aGUID + " is Offline: once imported it is taken Offline again (stmfadm offline-lu), as it was"}},
		{name: "warning: no create-lu fallback",
			change: func(f *facts, _ *store.Options, _ *store.Capabilities) { f.id.LUs[0].Alias = "" },
			warnings: []string{"no create-lu fallback for LU " + aGUID + ": create-lu cannot re-create LU " + aGUID + " exactly: alias: the LU has none, and create-lu would name it after its data file; " +
				"if import-lu finds no LU metadata in /dev/zvol/rdsk/pool/idisk0 after the rollback (meta file error), the operation stops there and needs attention"}},
		{name: "warning: an LU without views",
			change:   func(f *facts, _ *store.Options, _ *store.Capabilities) { f.id.LUs[0].Views = nil },
			warnings: []string{"LU " + aGUID + " has no views: no host can see it now, and none will after"}},
		{name: "warning: the snapshot's volsize unknown",
			change:   func(f *facts, _ *store.Options, _ *store.Capabilities) { f.id.SnapshotVolsize = 0 },
			warnings: []string{"the LU's size may change: this platform does not say what size pool/idisk0 had at pool/idisk0@snap1; after the rollback LU " + aGUID + " (1073741824 bytes) is shrunk to the volume's size if it is larger (modify-lu -s)"}},
		{name: "warning: the LU is larger than the volume was",
			change:   func(f *facts, _ *store.Options, _ *store.Capabilities) { f.id.SnapshotVolsize = gib / 2 },
			warnings: []string{"LU " + aGUID + " is 1073741824 bytes but pool/idisk0 was 536870912 bytes at pool/idisk0@snap1: the rollback shrinks the volume, so the LU is resized to 536870912 (modify-lu -s)"}},
		// A volume written@ proves unchanged, rolled back to its newest
		// snapshot alone: nothing runs but a check, so nothing needs a
		// consent, and the plan says only that.
		{name: "nothing written since the newest snapshot (written@): nothing to roll back, no consent needed",
			change: func(f *facts, o *store.Options, _ *store.Capabilities) {
				f.id.WrittenBefore = 0
				o.HaltZones = false
				session(f, "iqn.x:win1", "win1")
			},
			warnings: []string{"pool/idisk0 has not changed since pool/idisk0@snap1 (written@ is 0, no newer snapshot): nothing to roll back; the zones, LUs and sessions are left as they are, with no outage"}},
		{name: "nothing written, but in a group: rolled back with the others, consents needed",
			change: func(f *facts, o *store.Options, _ *store.Capabilities) {
				f.id.WrittenBefore = 0
				o.HaltZones = false
				o.Group = []string{aSnap, "pool/idisk1@snap1"}
			},
			warnings: []string{"pool/idisk0 has not changed since pool/idisk0@snap1: the rollback changes no data"},
			err:      "zone kz1 is running on pool/idisk0; stopping it for the rollback (shut down, halted if that hangs; booted again afterwards) needs consent halt_zones",
			consents: []string{"halt_zones"}},
		{name: "nothing written, but newer snapshots: they go",
			change: func(f *facts, o *store.Options, _ *store.Capabilities) {
				f.id.WrittenBefore = 0
				f.id.NewerSnapshots = []string{"pool/idisk0@snap2"}
				f.snapshots = append(f.snapshots, "pool/idisk0@snap2")
				o.DestroyNewer = true
			}},
		{name: "no written@ (Oracle Solaris), the newest snapshot: cannot tell",
			change: func(_ *facts, _ *store.Options, c *store.Capabilities) {
				*c = store.Capabilities{{Name: store.CapDeleteLUKeep, Supported: true}}
			},
			warnings: []string{"pool/idisk0@snap1 is the newest snapshot of pool/idisk0, but this platform has no written@: volctl cannot tell whether pool/idisk0 changed since, so the rollback runs in full"}},
		{name: "written@ not 0: nothing to say",
			change: func(f *facts, _ *store.Options, c *store.Capabilities) {
				*c = append(*c, store.Capability{Name: store.CapWritten, Supported: true})
				f.id.WrittenBefore = 8192
			}},
		{name: "warning: auxiliary state unknown",
			change:   func(f *facts, _ *store.Options, _ *store.Capabilities) { f.id.Zones[0].Aux = auxUnknown },
			warnings: []string{"zone kz1 is not shown by zoneadm list -s, so its auxiliary state is unknown; fresh host data discards any suspend image"}},
		{name: "warning: another auxiliary state",
			change:   func(f *facts, _ *store.Options, _ *store.Capabilities) { f.id.Zones[0].Aux = "debugging" },
			warnings: []string{`zone kz1 is in auxiliary state "debugging"`}},
		{name: "warning: a configured zone stays so",
			change:   func(f *facts, _ *store.Options, _ *store.Capabilities) { f.id.Zones[0].State = "configured" },
			warnings: []string{"zone kz1 is configured (detached) and stays so; its disk's host data goes back to pool/idisk0@snap1"}},
		{name: "an installed zone: nothing to say",
			change: func(f *facts, o *store.Options, _ *store.Capabilities) {
				f.id.Zones[0].State = "installed"
				o.HaltZones = false
			}},

		// The order of the warnings is the plan's.
		{name: "every warning at once, in order",
			change: func(f *facts, o *store.Options, c *store.Capabilities) {
				f.answers = []zones.Report{{Peer: aPeer, Zones: []zones.Zone{{Name: "kz1", State: "configured", Brand: "solaris-kz", Storage: []string{aRef}}}},
					{Peer: "kz-host2", Err: errors.New("peer kz-host2: timed out")}}
				f.pv = peerViewOf(f.answers)
				otherDisk(f, "pool/idisk1", -1)
				f.id.HistoryKnown = false
				f.id.LUs[0].OperationalStatus = comstar.StatusOffline
				f.id.LUs[0].Alias = ""
				f.id.LUs[0].Views = nil
				f.id.SnapshotVolsize = 0
				f.id.Zones[0].Aux = auxUnknown
				f.id.Zones[0].State = "configured"
				f.id.WrittenBefore = 0
				o.SkipPeers, o.OnlyTheseDisks = []string{"kz-host2"}, true
				o.Group = []string{aSnap, "pool/idisk2@snap1"} // a group: rolled back in full
			},
			warnings: []string{
				"peer kz-host2: timed out; skipped (skip_peers): a zone there on pool/idisk0 would not be stopped, and its initiators are not known",
				"zone kz1 is also configured on peer kz-host1 (detached there); volctl acts on it on this host only",
				"zone kz1 has other disks that this rollback leaves out: pool/idisk1 (consent only_these_disks given)",
				"zpool history of pool/idisk0 could not be read whole: if the rollback is interrupted, whether it took effect is decided by running it again",
				"LU " + aGUID + " is Offline: once imported it is taken Offline again (stmfadm offline-lu), as it was",
				"no create-lu fallback for LU " + aGUID + ": create-lu cannot re-create LU " + aGUID + " exactly: alias: the LU has none, and create-lu would name it after its data file; " +
					"if import-lu finds no LU metadata in /dev/zvol/rdsk/pool/idisk0 after the rollback (meta file error), the operation stops there and needs attention",
				"LU " + aGUID + " has no views: no host can see it now, and none will after",
				"the LU's size may change: this platform does not say what size pool/idisk0 had at pool/idisk0@snap1; after the rollback LU " + aGUID + " (1073741824 bytes) is shrunk to the volume's size if it is larger (modify-lu -s)",
				"pool/idisk0 has not changed since pool/idisk0@snap1: the rollback changes no data",
				"zone kz1 is not shown by zoneadm list -s, so its auxiliary state is unknown; fresh host data discards any suspend image",
				"zone kz1 is configured (detached) and stays so; its disk's host data goes back to pool/idisk0@snap1",
			}},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			f, opts, caps := aFacts(t), halt, append(store.Capabilities(nil), aCaps...)
			if r.change != nil {
				r.change(&f, &opts, &caps)
			}
			warnings, err := assess(f, opts, caps)
			if r.err == "" {
				if err != nil {
					t.Fatalf("error %v, want none", err)
				}
			} else if err == nil || err.Error() != r.err {
				t.Fatalf("error\n%v\nwant\n%s", err, r.err)
			}
			if err != nil {
				var got []string
				for _, c := range engine.Consents(err) {
					got = append(got, strings.TrimSuffix(c.Consent+"/"+c.Peer, "/"))
				}
				if !reflect.DeepEqual(got, r.consents) {
					t.Errorf("consents %q, want %q", got, r.consents)
				}
				if !errors.Is(err, engine.ErrPrecondition) {
					t.Errorf("%v does not wrap ErrPrecondition", err)
				}
				if errors.Is(err, engine.ErrNeedsConsent) != (len(r.consents) > 0) {
					t.Errorf("errors.Is(ErrNeedsConsent) = %v with consents %q", errors.Is(err, engine.ErrNeedsConsent), r.consents)
				}
				if len(r.consents) > 0 && len(flatten(err)) != len(r.consents) {
					t.Errorf("%d errors joined, want one per consent (%d)", len(flatten(err)), len(r.consents))
				}
			}
			if (err == nil || len(r.consents) > 0) && !reflect.DeepEqual(warnings, r.warnings) {
				t.Errorf("warnings\n%s\nwant\n%s", strings.Join(warnings, "\n"), strings.Join(r.warnings, "\n"))
			}
		})
	}
}

// flatten is the errors an errors.Join holds (err itself otherwise).
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
