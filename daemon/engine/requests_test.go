package engine

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/store"
)

// Request ids while their rollback is planned (issue 19, item 4): the same
// request sent again while the first is being captured joins it, at every
// stage, instead of finding the volume locked "by another request that is
// being planned" (Aborted).

// gated is the fake backend with a capture that waits for the test: it
// counts captures, says when the first starts, and returns err (a missing
// consent, say) once gate is closed. With ignoreCtx it waits for the gate
// even when its context ends (a capture that had just finished when its
// caller left).
type gated struct {
	*fakeBackend
	mu        sync.Mutex
	captures  int
	started   chan struct{}
	gate      chan struct{}
	err       error
	ignoreCtx bool
	stopped   chan struct{} // closed when a capture gave up on its context
}

func newGated(shape []fakeShape, w *world) *gated {
	return &gated{fakeBackend: newFake(shape, w), started: make(chan struct{}), gate: make(chan struct{}), stopped: make(chan struct{})}
}

func (g *gated) GroupRollbacks() bool { return true }

func (g *gated) Capture(ctx context.Context, _ execx.RunFunc, _ string, _ store.Options) (store.Identity, []string, error) {
	g.mu.Lock()
	g.captures++
	if g.captures == 1 {
		close(g.started)
	}
	ignore := g.ignoreCtx
	g.mu.Unlock()
	if ignore {
		<-g.gate
		return store.Identity{}, nil, g.err
	}
	select {
	case <-g.gate:
		return store.Identity{}, nil, g.err
	case <-ctx.Done():
		close(g.stopped)
		return store.Identity{}, nil, ctx.Err()
	}
}

func (g *gated) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.captures
}

type gatedRig struct {
	e  *Engine
	db *store.DB
	g  *gated
	w  *world
}

func newGatedRig(t *testing.T) *gatedRig {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "journal.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	w := newWorld()
	g := newGated(solarisLike, w)
	ctx, cancel := context.WithCancel(context.Background())
	e := New(ctx, db, g, Config{Retries: 2, RetryDelay: time.Microsecond}, nil)
	t.Cleanup(func() {
		select {
		case <-g.gate:
		default:
			close(g.gate)
		}
		cancel()
		e.Wait()
		db.Close()
	})
	return &gatedRig{e: e, db: db, g: g, w: w}
}

// call is one caller's view of a rollback.
type call struct {
	op     *store.Operation
	err    error
	events []string
}

func (r *gatedRig) start(ctx context.Context, req Request) chan call {
	out := make(chan call, 1)
	go func() {
		var c call
		c.op, c.err = r.e.Rollback(ctx, req, func(ev Event) { c.events = append(c.events, kind(ev)) })
		out <- c
	}()
	return out
}

func kind(ev Event) string {
	switch {
	case ev.Plan != nil:
		return "plan"
	case ev.Final != nil:
		return "final " + string(ev.Final.State)
	case ev.CommandStarted != nil, ev.Command != nil:
		return "" // the fake's steps run no commands
	}
	return ev.Step + " " + string(ev.State)
}

// waitStarted waits until the first capture runs: the request is being
// planned, its volume locked.
func (r *gatedRig) waitStarted(t *testing.T) {
	t.Helper()
	select {
	case <-r.g.started:
	case <-time.After(10 * time.Second):
		t.Fatal("the capture did not start")
	}
}

// TestRequestIDJoinsWhilePlanned: eight callers with one request id, the
// seven others 0.3 s into the first one's capture: one capture, one
// operation, and all eight get its plan, every event and its result (it
// used to be one operation and seven Aborted "busy with another request
// that is being planned").
func TestRequestIDJoinsWhilePlanned(t *testing.T) {
	r := newGatedRig(t)
	req := Request{Snapshot: "pool/vol@snap", RequestID: "r9"}
	calls := []chan call{r.start(context.Background(), req)}
	r.waitStarted(t)
	for i := 0; i < 7; i++ {
		calls = append(calls, r.start(context.Background(), req))
	}
	time.Sleep(300 * time.Millisecond)
	close(r.g.gate)
	var first call
	for i, ch := range calls {
		c := <-ch
		if c.err != nil || c.op == nil {
			t.Errorf("caller %d: %v", i, c.err)
			continue
		}
		if i == 0 {
			first = c
			continue
		}
		if c.op.ID != first.op.ID || c.op.State != first.op.State {
			t.Errorf("caller %d got operation %d %s, the first %d %s", i, c.op.ID, c.op.State, first.op.ID, first.op.State)
		}
		if !slices.Equal(c.events, first.events) {
			t.Errorf("caller %d saw\n%v\nthe first\n%v", i, c.events, first.events)
		}
	}
	if first.op == nil {
		t.FailNow()
	}
	// The operation's id first (step 0, the capture, starting), then the
	// plan (issue 21 item 2).
	if first.op.State != store.OpSucceeded || len(first.events) < 3 || first.events[0] != "capture running" || first.events[1] != "plan" ||
		first.events[len(first.events)-1] != "final succeeded" {
		t.Errorf("the first caller's stream: %v (%s)", first.events, first.op.State)
	}
	if n := r.g.count(); n != 1 {
		t.Errorf("%d captures, want 1", n)
	}
	if ops, _ := r.db.ListOperations(0, nil); len(ops) != 1 {
		t.Errorf("%d operations journaled, want 1", len(ops))
	}
	if n := len(r.w.log()); n != len(solarisLike) {
		t.Errorf("%d steps ran, want %d (one rollback)", n, len(solarisLike))
	}
}

// TestRequestIDJoinsRefusal: a request refused while planned (a missing
// consent) is refused the same way for every caller of its id, from one
// capture.
func TestRequestIDJoinsRefusal(t *testing.T) {
	r := newGatedRig(t)
	r.g.err = NeedsConsent(ConsentHaltZones)
	req := Request{Snapshot: "pool/vol@snap", RequestID: "r9"}
	calls := []chan call{r.start(context.Background(), req)}
	r.waitStarted(t)
	for i := 0; i < 3; i++ {
		calls = append(calls, r.start(context.Background(), req))
	}
	time.Sleep(300 * time.Millisecond)
	close(r.g.gate)
	for i, ch := range calls {
		c := <-ch
		if !errors.Is(c.err, ErrNeedsConsent) || errors.Is(c.err, ErrBusy) {
			t.Errorf("caller %d: %v, want the missing consent", i, c.err)
		}
	}
	if n := r.g.count(); n != 1 {
		t.Errorf("%d captures, want 1", n)
	}
	// Refused, the id is free again: given the consent, it runs.
	r.g.err = nil
	req.Options.HaltZones = true
	if op, err := r.e.Rollback(context.Background(), req, func(Event) {}); err != nil || op.State != store.OpSucceeded {
		t.Fatalf("with the consent: %v", err)
	}
}

// TestRequestIDOtherRequestWhilePlanned: the same id with other consents,
// or for another snapshot, is refused while the first is planned, as it
// is once the operation is journaled (not Aborted as busy).
func TestRequestIDOtherRequestWhilePlanned(t *testing.T) {
	r := newGatedRig(t)
	req := Request{Snapshot: "pool/vol@snap", RequestID: "r9"}
	first := r.start(context.Background(), req)
	r.waitStarted(t)
	for _, other := range []Request{
		{Snapshot: "pool/vol@snap", RequestID: "r9", Options: store.Options{HaltZones: true}},
		{Snapshot: "pool/vol@other", RequestID: "r9"},
	} {
		_, err := r.e.Rollback(context.Background(), other, func(Event) {})
		var reused *RequestIDError
		if !errors.As(err, &reused) || !errors.Is(err, ErrAlreadyExists) || errors.Is(err, ErrBusy) ||
			!strings.Contains(err.Error(), `request id "r9" is being planned for a rollback of pool/vol@snap`) {
			t.Errorf("%+v: %v, want a RequestIDError saying what the id is being planned for", other, err)
		}
	}
	close(r.g.gate)
	if c := <-first; c.err != nil {
		t.Fatal(c.err)
	}
	if n := r.g.count(); n != 1 {
		t.Errorf("%d captures, want 1", n)
	}
}

// TestRequestIDFirstCallerLeaves: the caller that started the planning
// goes away (its client was interrupted); the retry waiting with the same
// id still gets the operation.
func TestRequestIDFirstCallerLeaves(t *testing.T) {
	r := newGatedRig(t)
	req := Request{Snapshot: "pool/vol@snap", RequestID: "r9"}
	ctx, cancel := context.WithCancel(context.Background())
	first := r.start(ctx, req)
	r.waitStarted(t)
	retry := r.start(context.Background(), req)
	time.Sleep(300 * time.Millisecond)
	cancel()
	if c := <-first; !errors.Is(c.err, context.Canceled) {
		t.Errorf("the caller that left: %v, want context.Canceled", c.err)
	}
	close(r.g.gate)
	c := <-retry
	if c.err != nil || c.op.State != store.OpSucceeded {
		t.Fatalf("the retry: %v", c.err)
	}
	if c.events[0] != "capture running" || c.events[1] != "plan" || c.events[len(c.events)-1] != "final succeeded" {
		t.Errorf("the retry's stream: %v", c.events)
	}
	if ops, _ := r.db.ListOperations(0, nil); len(ops) != 1 {
		t.Errorf("%d operations journaled, want 1", len(ops))
	}
}

// TestRequestIDEveryoneLeaves: when every caller of an id has gone, its
// planning stops (the capture's context ends), nothing is journaled and
// the locks are free: the same id later plans afresh.
func TestRequestIDEveryoneLeaves(t *testing.T) {
	r := newGatedRig(t)
	req := Request{Snapshot: "pool/vol@snap", RequestID: "r9"}
	ctx, cancel := context.WithCancel(context.Background())
	calls := []chan call{r.start(ctx, req)}
	r.waitStarted(t)
	calls = append(calls, r.start(ctx, req))
	time.Sleep(100 * time.Millisecond)
	cancel()
	for _, ch := range calls {
		if c := <-ch; !errors.Is(c.err, context.Canceled) {
			t.Errorf("a caller that left: %v", c.err)
		}
	}
	select {
	case <-r.g.stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("the capture went on with nobody waiting")
	}
	close(r.g.gate)
	op, err := r.e.Rollback(context.Background(), req, func(Event) {})
	if err != nil || op.State != store.OpSucceeded {
		t.Fatalf("the id again: %v", err)
	}
	if ops, _ := r.db.ListOperations(0, nil); len(ops) != 1 {
		t.Errorf("%d operations journaled, want 1", len(ops))
	}
}

// TestRequestIDRetryAfterAbandon: the only caller left while its capture
// was finishing (the capture does not stop); a retry arriving then waits
// for that planning to stop, then plans (or follows what it journaled):
// one operation, not Aborted.
func TestRequestIDRetryAfterAbandon(t *testing.T) {
	r := newGatedRig(t)
	r.g.ignoreCtx = true
	req := Request{Snapshot: "pool/vol@snap", RequestID: "r9"}
	ctx, cancel := context.WithCancel(context.Background())
	first := r.start(ctx, req)
	r.waitStarted(t)
	cancel()
	select {
	case c := <-first:
		if !errors.Is(c.err, context.Canceled) {
			t.Errorf("the caller that left: %v", c.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the caller that left is still held by the capture")
	}
	retry := r.start(context.Background(), req)
	time.Sleep(100 * time.Millisecond)
	close(r.g.gate)
	c := <-retry
	if c.err != nil || c.op.State != store.OpSucceeded {
		t.Fatalf("the retry: %v", c.err)
	}
	if ops, _ := r.db.ListOperations(0, nil); len(ops) != 1 {
		t.Errorf("%d operations journaled, want 1", len(ops))
	}
}

// TestRequestIDGroupJoins: a group request (several snapshots) joins the
// same way; the same id for a different group is refused.
func TestRequestIDGroupJoins(t *testing.T) {
	r := newGatedRig(t)
	req := Request{Snapshot: "pool/a@g1", More: []string{"pool/b@g1"}, RequestID: "g"}
	first := r.start(context.Background(), req)
	r.waitStarted(t)
	second := r.start(context.Background(), req)
	_, err := r.e.Rollback(context.Background(), Request{Snapshot: "pool/a@g1", More: []string{"pool/c@g1"}, RequestID: "g"}, func(Event) {})
	if !errors.Is(err, ErrAlreadyExists) {
		t.Errorf("another group with the id: %v, want ErrAlreadyExists", err)
	}
	time.Sleep(100 * time.Millisecond)
	close(r.g.gate)
	a, b := <-first, <-second
	if a.err != nil || b.err != nil || a.op.ID != b.op.ID {
		t.Fatalf("group callers: %v %v", a.err, b.err)
	}
	if got := a.op.Options.Group; !slices.Equal(got, []string{"pool/a@g1", "pool/b@g1"}) {
		t.Errorf("group %v", got)
	}
}

// TestRequestIDAfterTheEnd: the same request after its operation ended
// gets what its first caller got: the plan, the steps, the result and the
// operation's error (it used to get the final state alone and no error,
// whatever the operation's outcome).
func TestRequestIDAfterTheEnd(t *testing.T) {
	w := newWorld()
	r := newRig(t, solarisLike, w, t.TempDir())
	r.fake.fault("delete").failDo = 1
	req := Request{Snapshot: "pool/vol@snap", RequestID: "late"}
	var firstEvents, againEvents []string
	first, err1 := r.e.Rollback(context.Background(), req, func(ev Event) { firstEvents = append(firstEvents, kind(ev)) })
	again, err2 := r.e.Rollback(context.Background(), req, func(ev Event) { againEvents = append(againEvents, kind(ev)) })
	if !errors.Is(err1, ErrStepFailed) || first.State != store.OpRolledBack {
		t.Fatalf("first: %v %v, want a failed step, rolled back", first, err1)
	}
	if again == nil || again.ID != first.ID || fmt.Sprint(err2) != fmt.Sprint(err1) {
		t.Errorf("again: operation %v, %v; want operation %d with %v", again != nil && again.ID == first.ID, err2, first.ID, err1)
	}
	if n := len(againEvents); n < 3 || againEvents[0] != "capture running" || againEvents[1] != "plan" || againEvents[n-1] != "final rolled_back" ||
		!slices.Contains(againEvents, "delete failed") {
		t.Errorf("again saw %v, want the plan, the failed step and the result", againEvents)
	}
}

// TestRequestIDFreeOnceRefused: a caller told that its planning was
// refused can send the request again at once: the id is no longer being
// planned. The refusal reached the followers of the planned operation
// (endPlanned) before the registry forgot the id (finish), so a retry with
// the consent could get "is being planned"; a log that is slow to write
// endPlanned's line widens that window.
func TestRequestIDFreeOnceRefused(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "journal.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	g := newGated(solarisLike, newWorld())
	close(g.gate)
	g.err = NeedsConsent(ConsentHaltZones)
	log := hclog.New(&hclog.LoggerOptions{Output: slowOn{"operation not started", 50 * time.Millisecond}})
	ctx, cancel := context.WithCancel(context.Background())
	e := New(ctx, db, g, Config{Retries: 2, RetryDelay: time.Microsecond}, log)
	t.Cleanup(func() { cancel(); e.Wait(); db.Close() })
	req := Request{Snapshot: "pool/vol@snap", RequestID: "r10"}
	if _, err := e.Rollback(context.Background(), req, func(Event) {}); !errors.Is(err, ErrNeedsConsent) {
		t.Fatalf("%v, want the missing consent", err)
	}
	if p := e.requests.get(req.RequestID); p != nil {
		t.Fatalf("the refusal came while request id %q is still being planned", req.RequestID)
	}
	g.err = nil
	req.Options.HaltZones = true
	if op, err := e.Rollback(context.Background(), req, func(Event) {}); err != nil || op.State != store.OpSucceeded {
		t.Fatalf("sent again with the consent: %v", err)
	}
}

// slowOn is a log output that takes d to write a line containing s.
type slowOn struct {
	s string
	d time.Duration
}

func (w slowOn) Write(b []byte) (int, error) {
	if strings.Contains(string(b), w.s) {
		time.Sleep(w.d)
	}
	return len(b), nil
}
