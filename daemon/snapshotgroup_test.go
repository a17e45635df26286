package daemon_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	v1 "github.com/volctl/volctl/proto/volctl/v1"
	"github.com/volctl/volctl/sim"
)

// TestTwoHostsGroupSnapshotAsksThePeer: kz1 runs on the zone host from
// both of the storage host's LUs. The storage host (Solaris: one snapshot
// per zfs snapshot, docs/platform/zfs-snapshot.md) takes the zone's disks
// one by one only while the peer says kz1 is down; while it runs there,
// the snapshot is refused (FailedPrecondition) naming the zone and the
// peer, and nothing is taken; a peer that does not answer refuses too.
func TestTwoHostsGroupSnapshotAsksThePeer(t *testing.T) {
	h := newTwoHosts(t, "", "")
	if err := sim.Update(h.zone, func(s *sim.State) error {
		s.Zone("kz1").Devices = append(s.Zone("kz1").Devices,
			&sim.ZoneDevice{ID: 1, Storage: "iscsi://127.0.0.1:3260/luname.naa." + strings.ToLower(sim.SeedGUID1)})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	h.start()
	c := h.storageD.client()
	ctx := context.Background()

	resp, err := c.Snapshots.CreateSnapshot(ctx, &v1.CreateSnapshotRequest{Zone: "kz1", Name: "down"})
	if err != nil {
		t.Fatalf("kz1 installed: %v\n%s", err, h.logs())
	}
	var names []string
	for _, s := range resp.GetSnapshots() {
		names = append(names, s.GetName())
	}
	if !slices.Equal(names, []string{"pool/idisk0@down", "pool/idisk1@down"}) ||
		!strings.Contains(resp.GetMethod(), "taken one by one, as nothing could write to them meanwhile (zone kz1 is installed on peer kz-host1") {
		t.Errorf("snapshots %v, method %q", names, resp.GetMethod())
	}

	zoneadm(t, h.zone, "-z", "kz1", "boot")
	_, err = c.Snapshots.CreateSnapshot(ctx, &v1.CreateSnapshotRequest{Zone: "kz1", Name: "up"})
	if status.Code(err) != codes.FailedPrecondition ||
		!strings.Contains(err.Error(), "zone kz1 is running on peer kz-host1 (on pool/idisk0, pool/idisk1): shut it down first (zoneadm -z kz1 shutdown)") {
		t.Errorf("kz1 running on the peer: %v", err)
	}

	h.zoneDaemon.kill()
	_, err = c.Snapshots.CreateSnapshot(ctx, &v1.CreateSnapshotRequest{Name: "pool/idisk0@gone", MoreNames: []string{"pool/idisk1@gone"}})
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "volctl cannot tell whether a zone on peer kz-host1 writes to pool/idisk0") {
		t.Errorf("peer down: %v", err)
	}
	st, err := sim.Load(h.storage)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"pool/idisk0", "pool/idisk1"} {
		for _, s := range []string{"up", "gone"} {
			if st.Zvol(v).Snapshot(s) != nil {
				t.Errorf("%s@%s was taken", v, s)
			}
		}
	}
}
