package engine

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/store"
)

// zonedFake is the fake backend with zones on its volumes, group
// rollbacks and zone disks: enough for what an operation that needs
// attention holds.
type zonedFake struct {
	*fakeBackend
	zones map[string][]store.Zone // by volume
}

func (z *zonedFake) Capture(_ context.Context, _ execx.RunFunc, snap string, _ store.Options) (store.Identity, []string, error) {
	vol, _, _ := strings.Cut(snap, "@")
	return store.Identity{Volume: vol, Snapshot: snap, Zones: z.zones[vol]}, nil, nil
}

func (z *zonedFake) GroupRollbacks() bool { return true }

func (z *zonedFake) ZoneDisks(_ context.Context, _ execx.RunFunc, zone string) ([]string, error) {
	var vols []string
	for v, zs := range z.zones {
		if slices.ContainsFunc(zs, func(x store.Zone) bool { return x.Name == zone && x.Host == "" }) {
			vols = append(vols, v)
		}
	}
	if len(vols) == 0 {
		return nil, fmt.Errorf("zone %s: %w", zone, ErrNotFound)
	}
	slices.Sort(vols)
	return vols, nil
}

// The volumes of the zoned fake: kz1 (this host) has two disks, a and b;
// c is kz2's on peer h2, d is another kz2's on this host; e and f have no
// zone.
func newZonedFake() *zonedFake {
	return &zonedFake{fakeBackend: newFake(solarisLike, newWorld()), zones: map[string][]store.Zone{
		"pool/a": {{Name: "kz1", State: "running"}},
		"pool/b": {{Name: "kz1", State: "running"}},
		"pool/c": {{Name: "kz2", State: "running", Host: "h2"}},
		"pool/d": {{Name: "kz2", State: "running"}},
	}}
}

// holdRig is an engine over the zoned fake and a journal it can close and
// open again (a restart).
type holdRig struct {
	t      *testing.T
	path   string
	fake   *zonedFake
	db     *store.DB
	e      *Engine
	cancel context.CancelFunc
	cfg    Config // tests may set Observer and JournalFault before open
}

func newHoldRig(t *testing.T) *holdRig {
	r := &holdRig{t: t, path: filepath.Join(t.TempDir(), "journal.db"), fake: newZonedFake()}
	r.open()
	t.Cleanup(r.close)
	return r
}

func (r *holdRig) open() {
	r.t.Helper()
	db, err := store.Open(r.path, time.Second)
	if err != nil {
		r.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.db, r.cancel = db, cancel
	cfg := r.cfg
	cfg.Retries, cfg.RetryDelay = 1, time.Microsecond
	r.e = New(ctx, db, r.fake, cfg, nil)
}

func (r *holdRig) close() {
	if r.db == nil {
		return
	}
	r.cancel()
	r.e.Wait()
	r.db.Close()
	r.db = nil
}

// restart is a new daemon on the same journal.
func (r *holdRig) restart() {
	r.close()
	r.open()
}

func (r *holdRig) rollback(req Request) (*store.Operation, error) {
	return r.e.Rollback(context.Background(), req, func(Event) {})
}

// needsAttention runs req with the import step failing for good (past the
// commit: the operation needs attention) and returns its id.
func (r *holdRig) needsAttention(req Request) uint64 {
	r.t.Helper()
	flt := r.fake.fault("import")
	flt.failDo, flt.doCalls, flt.err = 1<<20, 0, Permanent(errors.New("import-lu: refused"))
	op, err := r.rollback(req)
	flt.failDo, flt.err = 0, nil
	if op == nil || op.State != store.OpNeedsAttention || !errors.Is(err, ErrNeedsAttention) {
		r.t.Fatalf("%+v: %v, want needs_attention", op, err)
	}
	return op.ID
}

// refusedBy fails the test unless err refuses a request because operation
// id needs attention: a failed precondition naming it, what it left and
// both ways out.
func refusedBy(t *testing.T, what string, err error, id uint64) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: allowed while operation %d needs attention", what, id)
		return
	}
	msg := err.Error()
	for _, want := range []string{fmt.Sprintf("operation %d, which needs attention", id), "these steps are left: import",
		fmt.Sprintf("volctl recover %d", id), fmt.Sprintf("volctl resolve %d --reason", id)} {
		if !strings.Contains(msg, want) {
			t.Errorf("%s: %q does not say %q", what, msg, want)
		}
	}
	if !errors.Is(err, ErrPrecondition) || errors.Is(err, ErrBusy) {
		t.Errorf("%s: %v is not a failed precondition", what, err)
	}
}

// TestNeedsAttentionHolds: while an operation needs attention, a rollback
// (single, group, --zone), its dry run and a snapshot destroy that touch
// its volume or zone are refused naming it, after a restart too (before
// Start resumes anything, and after); other volumes, a same-named zone on
// another host, snapshots and reads go on.
func TestNeedsAttentionHolds(t *testing.T) {
	r := newHoldRig(t)
	ctx := context.Background()
	id := r.needsAttention(Request{Snapshot: "pool/a@s"}) // kz1's disk a

	check := func(when string) {
		t.Helper()
		_, err := r.rollback(Request{Snapshot: "pool/a@s2"})
		refusedBy(t, when+": rollback of its volume", err, id)
		_, err = r.rollback(Request{Snapshot: "pool/b@s"})
		refusedBy(t, when+": rollback of another disk of its zone", err, id)
		_, err = r.rollback(Request{Snapshot: "pool/e@s", More: []string{"pool/a@s"}})
		refusedBy(t, when+": group rollback with its volume", err, id)
		_, err = r.rollback(Request{Snapshot: "pool/e@s", More: []string{"pool/b@s"}})
		refusedBy(t, when+": group rollback with its zone", err, id)
		_, err = r.rollback(Request{Zone: "kz1", Snapshot: "s"})
		refusedBy(t, when+": rollback --zone of its zone", err, id)
		_, err = r.e.Plan(ctx, Request{Snapshot: "pool/a@s"})
		refusedBy(t, when+": dry run of its volume", err, id)
		_, err = r.e.Plan(ctx, Request{Snapshot: "pool/b@s"})
		refusedBy(t, when+": dry run over its zone", err, id)
		err = r.e.DestroySnapshot(ctx, "pool/a@s")
		refusedBy(t, when+": destroy a snapshot of its volume", err, id)

		if _, err := r.e.CreateSnapshot(ctx, "pool/a@"+strings.ReplaceAll(when, " ", "-")); errors.Is(err, ErrPrecondition) {
			t.Errorf("%s: snapshot of a held volume refused: %v", when, err)
		}
		if _, err := r.e.Operation(id); err != nil {
			t.Errorf("%s: reading the operation: %v", when, err)
		}
	}
	check("at once")
	if op, err := r.rollback(Request{Snapshot: "pool/e@s"}); err != nil || op.State != store.OpSucceeded {
		t.Errorf("rollback of a volume it does not hold: %v", err)
	}
	if _, err := r.e.Plan(ctx, Request{Snapshot: "pool/f@s"}); err != nil {
		t.Errorf("dry run of a volume it does not hold: %v", err)
	}

	r.restart()
	check("after a restart, before Start")
	if err := r.e.Start(); err != nil {
		t.Fatal(err)
	}
	r.e.Wait()
	check("after Start")
}

// TestNeedsAttentionHoldsPeerZonesByHost: a zone on a peer is held on that
// host; a zone of the same name on this host is another zone.
func TestNeedsAttentionHoldsPeerZonesByHost(t *testing.T) {
	r := newHoldRig(t)
	r.fake.zones["pool/f"] = []store.Zone{{Name: "kz2", State: "running", Host: "h2"}} // kz2@h2's second disk
	id := r.needsAttention(Request{Snapshot: "pool/c@s"})
	_, err := r.rollback(Request{Snapshot: "pool/f@s"})
	refusedBy(t, "rollback of another disk of the peer's zone", err, id)
	if err != nil && !strings.Contains(err.Error(), "zone kz2 on host h2 is held") {
		t.Errorf("the refusal %q does not name the zone and its host", err)
	}
	if op, err := r.rollback(Request{Snapshot: "pool/d@s"}); err != nil || op.State != store.OpSucceeded {
		t.Errorf("rollback under kz2 of this host, while kz2 of h2 is held: %v", err)
	}
}

// TestNeedsAttentionHoldsGroup: a group operation that needs attention
// holds every one of its volumes and the zones of all of them.
func TestNeedsAttentionHoldsGroup(t *testing.T) {
	r := newHoldRig(t)
	r.fake.zones["pool/f"] = []store.Zone{{Name: "kz3", State: "installed"}}
	r.fake.zones["pool/g"] = []store.Zone{{Name: "kz3", State: "installed"}}
	id := r.needsAttention(Request{Snapshot: "pool/e@s", More: []string{"pool/f@s"}})
	_, err := r.rollback(Request{Snapshot: "pool/f@s2"})
	refusedBy(t, "rollback of the group's second volume", err, id)
	err = r.e.DestroySnapshot(context.Background(), "pool/f@s")
	refusedBy(t, "destroy a snapshot of the group's second volume", err, id)
	_, err = r.rollback(Request{Snapshot: "pool/g@s"})
	refusedBy(t, "rollback under the zone of the group's second volume", err, id)
}
