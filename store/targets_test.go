package store

import (
	"slices"
	"testing"
)

// TestTargets: a group's volumes and snapshots in order, its first the
// operation's own; one volume alone otherwise; OnVolume matches any.
func TestTargets(t *testing.T) {
	group := &Operation{Volume: "pool/a", Snapshot: "pool/a@g", Options: Options{Group: []string{"pool/a@g", "pool/b@h"}}}
	one := &Operation{Volume: "pool/c", Snapshot: "pool/c@s"}
	for _, tc := range []struct {
		op          *Operation
		vols, snaps []string
		on, notOn   string
	}{
		{group, []string{"pool/a", "pool/b"}, []string{"pool/a@g", "pool/b@h"}, "pool/b", "pool/c"},
		{one, []string{"pool/c"}, []string{"pool/c@s"}, "pool/c", "pool/a"},
	} {
		vols, snaps := tc.op.Targets()
		if !slices.Equal(vols, tc.vols) || !slices.Equal(snaps, tc.snaps) {
			t.Errorf("%s: Targets = %v, %v; want %v, %v", tc.op.Volume, vols, snaps, tc.vols, tc.snaps)
		}
		if !tc.op.OnVolume(tc.on) || tc.op.OnVolume(tc.notOn) {
			t.Errorf("%s: OnVolume(%s) false or OnVolume(%s) true", tc.op.Volume, tc.on, tc.notOn)
		}
	}
}
