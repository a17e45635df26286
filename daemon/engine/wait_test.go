package engine

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/volctl/volctl/store"
)

// TestWaitSaysWhatItWaitsFor: a rollback with wait on a volume another
// operation holds says, before its plan, which operation it waits for and
// its step, with and without a request id (it was silent).
func TestWaitSaysWhatItWaitsFor(t *testing.T) {
	for _, id := range []string{"", "w1"} {
		t.Run("request id "+id, func(t *testing.T) {
			w := newWorld()
			r := newRig(t, solarisLike, w, t.TempDir())
			r.fake.fault("rollback").freezeDo = 1
			first := make(chan error, 1)
			go func() { _, err := r.rollback(); first <- err }()
			<-r.fake.frozen
			var mu sync.Mutex
			var events []Event
			second := make(chan error, 1)
			go func() {
				_, err := r.e.Rollback(context.Background(), Request{Snapshot: "pool/vol@snap", RequestID: id, Wait: true},
					func(ev Event) { mu.Lock(); events = append(events, ev); mu.Unlock() })
				second <- err
			}()
			deadline := time.Now().Add(10 * time.Second)
			for {
				mu.Lock()
				n := len(events)
				mu.Unlock()
				if n > 0 || time.Now().After(deadline) {
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
			r.fake.thaw()
			if err := <-first; err != nil {
				t.Fatal(err)
			}
			if err := <-second; err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(events) == 0 || events[0].Op != 0 || events[0].Plan != nil {
				t.Fatalf("first event %+v, want a note before the plan", events)
			}
			want := "waiting for operation 1 (rollback of pool/vol@snap, at step rollback) to end: it holds volume pool/vol"
			if !strings.Contains(events[0].Message, want) {
				t.Errorf("note %q, want %q in it", events[0].Message, want)
			}
			// Then the operation, from its capture on: its id (step 0
			// starting), then the plan (planned.go).
			if len(events) < 3 || events[1].Op == 0 || events[1].Index != 0 || events[1].State != store.StepRunning || events[2].Plan == nil {
				t.Errorf("after the note: %+v, want step 0 with the operation's id, then the plan", events[1:])
			}
		})
	}
}
