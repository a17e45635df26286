package daemon_test

import (
	"context"
	"strings"
	"testing"
	"time"

	v1 "github.com/volctl/volctl/proto/volctl/v1"
	"github.com/volctl/volctl/sim"
	"github.com/volctl/volctl/sim/simtest"
)

// TestPeerZoneActionTimeout: the storage host waits for a zone action on a
// peer as long as its own configuration gives that action's zoneadm
// commands (here 3 × 2 s: the state read, the detach, the read-back) plus
// the peer's call timeout (3 s), not a fixed 15 minutes (issue 19, item 6).
// The zone host's detach hangs (its own zoneadm deadline is the default
// 10 minutes); the storage host gives up on it, the step fails naming the
// peer, and once the hung detach is killed the rollback goes back.
func TestPeerZoneActionTimeout(t *testing.T) {
	h := newTwoHosts(t, "", "")
	appendFile(t, h.sCfg, "[timeouts.command]\nzoneadm = \"2s\"\n")
	zoneadm(t, h.zone, "-z", "kz1", "boot")
	if err := sim.AddFault(h.zone, sim.Fault{Command: "zoneadm", Match: "-z kz1 detach", Nth: 1, Times: 1, Action: sim.ActionHang}); err != nil {
		t.Fatal(err)
	}
	h.start()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var detachStarted time.Time
	failedAfter := time.Duration(-1)
	op, err := h.storageD.client().Rollback(ctx, &v1.RollbackRequest{Snapshot: "pool/idisk0@snap1",
		Options: &v1.RollbackOptions{HaltZones: true}}, func(r *v1.RollbackResponse) {
		st := r.GetStep()
		if st.GetName() != "detach-zones" || st.GetCompensation() {
			return
		}
		switch {
		case st.GetState() == v1.StepState_STEP_STATE_RUNNING && detachStarted.IsZero():
			detachStarted = time.Now()
		case st.GetState() == v1.StepState_STEP_STATE_FAILED && failedAfter < 0:
			failedAfter = time.Since(detachStarted)
			// The hung detach ends; the zone host can act on kz1 again
			// for the compensation.
			go simtest.KillHung(h.zone)
		}
	})
	if failedAfter < 0 {
		simtest.KillHung(h.zone)
		t.Fatalf("the detach on the peer was not given up within 3 minutes (%v): the configured zoneadm timeout did not bound it\n%s", err, h.logs())
	}
	t.Logf("the storage host gave up on the peer's detach after %s", failedAfter)
	if failedAfter > time.Minute {
		t.Errorf("the detach on the peer failed after %s, want about 9 s (3 × 2 s + 3 s)", failedAfter)
	}
	if err == nil || op == nil {
		t.Fatalf("rollback: %v, want the detach's failure", err)
	}
	var detachErr string
	for _, s := range op.GetSteps() {
		if s.GetName() == "detach-zones" {
			detachErr = s.GetError()
		}
	}
	if !strings.Contains(detachErr, "kz-host1") || !strings.Contains(detachErr, "DeadlineExceeded") {
		t.Errorf("detach-zones error %q, want the peer's deadline named", detachErr)
	}
	settle(t, h)
}
