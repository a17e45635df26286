package server

import (
	"context"
	"slices"
	"testing"

	v1 "github.com/volctl/volctl/proto/volctl/v1"
	"github.com/volctl/volctl/store"
)

// TestGroupNamesEveryVolume: an operation over two volumes (a group) is
// listed under either volume, and the API names both, with their
// snapshots, beside volume (which keeps its meaning: the first); the
// consents recover was given are in recover_options.
func TestGroupNamesEveryVolume(t *testing.T) {
	d := startDaemon(t, fakeBackend{})
	for _, op := range []*store.Operation{
		{Kind: "rollback", Volume: "pool/a", Snapshot: "pool/a@g", State: store.OpSucceeded,
			Options:  store.Options{Group: []string{"pool/a@g", "pool/b@g1"}, AcceptSessions: true, InitializeHostdata: true},
			Identity: store.Identity{Volume: "pool/a", Snapshot: "pool/a@g"}, Members: []store.Identity{{Volume: "pool/b", Snapshot: "pool/b@g1"}}},
		{Kind: "rollback", Volume: "pool/c", Snapshot: "pool/c@s", State: store.OpSucceeded},
	} {
		if _, _, err := d.db.CreateOperation(op); err != nil {
			t.Fatal(err)
		}
	}
	ops := v1.NewOperationServiceClient(d.dial(t, viewerID))
	for vol, want := range map[string][]uint64{"pool/a": {1}, "pool/b": {1}, "pool/c": {2}, "pool/d": nil, "": {2, 1}} {
		r, err := ops.ListOperations(context.Background(), &v1.ListOperationsRequest{Volume: vol})
		if err != nil {
			t.Fatal(err)
		}
		var got []uint64
		for _, op := range r.GetOperations() {
			got = append(got, op.GetId())
		}
		if !slices.Equal(got, want) {
			t.Errorf("ListOperations(volume %q) = %v, want %v", vol, got, want)
		}
	}
	r, err := ops.GetOperation(context.Background(), &v1.GetOperationRequest{Id: 1})
	if err != nil {
		t.Fatal(err)
	}
	op := r.GetOperation()
	if op.GetVolume() != "pool/a" || !slices.Equal(op.GetVolumes(), []string{"pool/a", "pool/b"}) ||
		!slices.Equal(op.GetSnapshots(), []string{"pool/a@g", "pool/b@g1"}) {
		t.Errorf("group: volume %q, volumes %q, snapshots %q", op.GetVolume(), op.GetVolumes(), op.GetSnapshots())
	}
	if ro := op.GetRecoverOptions(); !ro.GetInitializeHostdata() || ro.GetRepersist() || !op.GetOptions().GetAcceptSessions() {
		t.Errorf("options %v, recover options %v", op.GetOptions(), ro)
	}
	r, err = ops.GetOperation(context.Background(), &v1.GetOperationRequest{Id: 2})
	if op := r.GetOperation(); err != nil || !slices.Equal(op.GetVolumes(), []string{"pool/c"}) || !slices.Equal(op.GetSnapshots(), []string{"pool/c@s"}) {
		t.Errorf("one volume: volumes %q, snapshots %q, %v", op.GetVolumes(), op.GetSnapshots(), err)
	}
}
