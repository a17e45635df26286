package server

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/volctl/volctl/daemon/auth"
	v1 "github.com/volctl/volctl/proto/volctl/v1"
	"github.com/volctl/volctl/store"
)

// TestWatchOperation: a viewer watches an ended operation: the plan, its
// steps replayed from the journal with their commands, the operation
// last, with its resume and its active time (created to updated less the
// time it stood still); not audited, like GetOperation. An unknown id is
// NotFound.
func TestWatchOperation(t *testing.T) {
	conn, db := serve(t, &auth.Identity{Transport: "unix", UID: 1000, User: "alice"})
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	op := &store.Operation{ID: 1, Kind: "rollback", Platform: "fake", Volume: "pool/v", Snapshot: "pool/v@s", State: store.OpSucceeded,
		Created: t0, Updated: t0.Add(time.Hour + 3*time.Second), Idle: time.Hour,
		Resumes: []store.Resume{{Time: t0.Add(time.Hour + time.Second), Trigger: store.ResumeRestart, Stopped: t0.Add(time.Second),
			State: store.OpRunning, Step: "rollback"}},
		Steps: []store.Step{
			{Name: "capture", State: store.StepDone},
			{Name: "rollback", State: store.StepDone, Started: t0, Finished: t0.Add(2 * time.Second),
				Commands: []store.Command{{Argv: []string{"zfs", "rollback", "pool/v@s"}, Started: t0, Duration: time.Second}}},
		}}
	if err := db.PutOperation(op); err != nil {
		t.Fatal(err)
	}
	s, err := v1.NewOperationServiceClient(conn).WatchOperation(context.Background(), &v1.WatchOperationRequest{Id: 1})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	var final *v1.Operation
	for {
		m, err := s.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case m.GetPlan() != nil:
			kinds = append(kinds, "plan")
		case m.GetStep().GetCommandStarted() != nil:
			kinds = append(kinds, "start "+m.GetStep().GetCommandStarted().GetArgv()[1])
		case m.GetStep().GetCommand() != nil:
			kinds = append(kinds, "cmd "+m.GetStep().GetCommand().GetArgv()[1])
		case m.GetStep() != nil:
			kinds = append(kinds, m.GetStep().GetName()+" "+m.GetStep().GetState().String())
		case m.GetOperation() != nil:
			final = m.GetOperation()
			kinds = append(kinds, "operation")
		}
	}
	want := []string{"capture STEP_STATE_RUNNING", "plan", "rollback STEP_STATE_RUNNING", "start rollback", "cmd rollback", "rollback STEP_STATE_DONE", "operation"}
	if len(kinds) != len(want) {
		t.Fatalf("stream %q, want %q", kinds, want)
	}
	for i := range want {
		if kinds[i] != want[i] {
			t.Fatalf("stream %q, want %q", kinds, want)
		}
	}
	if got := final.GetActive().AsDuration(); got != 3*time.Second {
		t.Errorf("active %s, want 3s", got)
	}
	if rs := final.GetResumes(); len(rs) != 1 || rs[0].GetTrigger() != "restart" || rs[0].GetStep() != "rollback" ||
		rs[0].GetState() != v1.OperationState_OPERATION_STATE_RUNNING || !rs[0].GetStopped().AsTime().Equal(t0.Add(time.Second)) {
		t.Errorf("resumes %v", rs)
	}
	if recs, _ := db.ListAudit(0, 0); len(recs) != 0 {
		t.Errorf("a watch was audited: %+v", recs)
	}

	s, err = v1.NewOperationServiceClient(conn).WatchOperation(context.Background(), &v1.WatchOperationRequest{Id: 999})
	if err == nil {
		_, err = s.Recv()
	}
	if status.Code(err) != codes.NotFound {
		t.Errorf("watch of an unknown operation: %v, want NotFound", err)
	}
}
