package linuxtgt

import (
	"reflect"
	"testing"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/tgt"
	"github.com/volctl/volctl/daemon/zfs"
)

// TestSessionsOf: every session on a target that exports one of the
// volume's LUs sees it (tgt has no views); a target without its LUs does
// not count, and a volume without sessions is read as none, not unknown.
func TestSessionsOf(t *testing.T) {
	vol := zfs.Info{Name: "tank/vol", Type: "volume"}
	ts := []tgt.Target{
		{TID: 1, Name: "iqn.2026-11.test:a",
			Nexuses: []tgt.Nexus{{ID: 7, Initiator: "iqn.2026-11.test:host1", Alias: "host1"}, {ID: 8, Initiator: "iqn.2026-11.test:host2"}},
			LUNs:    []tgt.LUN{{LUN: 0, Type: "controller"}, {LUN: 1, Type: "disk", SCSIID: "ID-A", BackingPath: "/dev/zvol/tank/vol"}}},
		{TID: 2, Name: "iqn.2026-11.test:b",
			Nexuses: []tgt.Nexus{{ID: 9, Initiator: "iqn.2026-11.test:other"}},
			LUNs:    []tgt.LUN{{LUN: 1, Type: "disk", SCSIID: "ID-B", BackingPath: "/dev/zvol/tank/vol2"}}},
	}
	got := sessionsOf(ts, vol, nil)
	guid := toStoreLU(ts[0], ts[0].LUNs[1], "zvol").GUID
	want := &engine.Sessions{List: []engine.Session{
		{GUID: guid, Initiator: "iqn.2026-11.test:host1", Alias: "host1", Target: "iqn.2026-11.test:a", LUN: 1},
		{GUID: guid, Initiator: "iqn.2026-11.test:host2", Target: "iqn.2026-11.test:a", LUN: 1},
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("sessionsOf:\n got %+v\nwant %+v", got, want)
	}
	ts[0].Nexuses = nil
	if got := sessionsOf(ts, vol, nil); got == nil || got.Err != nil || len(got.List) != 0 {
		t.Errorf("no session: %+v, want read and empty", got)
	}
}
