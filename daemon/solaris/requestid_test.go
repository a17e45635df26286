package solaris_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/sim"
	"github.com/volctl/volctl/sim/simtest"
	"github.com/volctl/volctl/store"
)

// TestRequestIDGroupJoinsWhilePlanned: eight callers send one group
// rollback (kz1's two disks, by zone) with one request id, the first
// alone, the seven others 0.3 s later while its capture runs, one of them
// naming the snapshots instead of the zone. They get one operation, all of
// them its result (issue 19: seven were Aborted, "busy with another request
// that is being planned"); the same id with another consent is refused as
// reused, not as busy.
func TestRequestIDGroupJoinsWhilePlanned(t *testing.T) {
	root := groupHost(t)
	if err := sim.SetLatency(root, 30*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	e, db := newEngine(t, root, engine.Config{})
	req := groupRequest
	req.RequestID = "r9"
	type result struct {
		op     *store.Operation
		err    error
		plan   bool
		events int
	}
	results := make(chan result, 8)
	call := func(req engine.Request) {
		var r result
		r.op, r.err = e.Rollback(context.Background(), req, func(ev engine.Event) {
			r.plan = r.plan || ev.Plan != nil
			r.events++
		})
		results <- r
	}
	go call(req)
	time.Sleep(300 * time.Millisecond)
	byName := req
	byName.Zone, byName.Snapshot, byName.More = "", "pool/idisk0@g1", []string{"pool/idisk1@g1"}
	go call(byName)
	for i := 0; i < 6; i++ {
		go call(req)
	}
	other := req
	other.Options.AcceptSessions = true
	_, err := e.Rollback(context.Background(), other, func(engine.Event) {})
	if !errors.Is(err, engine.ErrAlreadyExists) || errors.Is(err, engine.ErrBusy) || !strings.Contains(err.Error(), "accept_sessions") {
		t.Errorf("the id with another consent: %v, want it refused as reused, naming accept_sessions", err)
	}
	var id uint64
	for i := 0; i < 8; i++ {
		r := <-results
		if r.err != nil || r.op == nil || r.op.State != store.OpSucceeded {
			t.Errorf("caller: %v", r.err)
			continue
		}
		if id == 0 {
			id = r.op.ID
		}
		if r.op.ID != id || !r.plan || r.events < 10 {
			t.Errorf("caller got operation %d (plan %v, %d events), want %d with its plan and events", r.op.ID, r.plan, r.events, id)
		}
	}
	if ops, _ := db.ListOperations(0, nil); len(ops) != 1 {
		t.Errorf("%d operations journaled, want 1", len(ops))
	}
	if bad := simtest.CheckGroup(root, simtest.AtSnapshot); len(bad) > 0 {
		t.Errorf("after the rollback: %v", bad)
	}
}
