package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/volctl/volctl/proto/volctl/v1"
)

// TestOpShowResumes: op show prints a line per resume (when, what picked
// it up, since when it stood still and where) and the active time.
func TestOpShowResumes(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	op := &v1.Operation{Id: 4, State: v1.OperationState_OPERATION_STATE_SUCCEEDED, Created: timestamppb.New(t0), Updated: timestamppb.New(t0.Add(2 * time.Hour)),
		Active: durationpb.New(90 * time.Second),
		Resumes: []*v1.Resume{
			{Time: timestamppb.New(t0.Add(time.Hour)), Trigger: "restart", Stopped: timestamppb.New(t0.Add(time.Minute)),
				State: v1.OperationState_OPERATION_STATE_RUNNING, Step: "rollback"},
			{Time: timestamppb.New(t0.Add(2 * time.Hour)), Trigger: "recover", Stopped: timestamppb.New(t0.Add(time.Hour + time.Minute)),
				State: v1.OperationState_OPERATION_STATE_NEEDS_ATTENTION},
		}}
	var out bytes.Buffer
	(&app{stdout: &out, utc: true}).printOperation(op)
	for _, want := range []string{
		"  resumed:   2026-12-01 11:00:00 UTC after a restart (stopped 2026-12-01 10:01:00 UTC in step rollback, running)\n",
		"  resumed:   2026-12-01 12:00:00 UTC by recover (stopped 2026-12-01 11:01:00 UTC, needs_attention)\n",
		"  active:    1m30s",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("op show lacks %q:\n%s", want, out.String())
		}
	}
}

// TestActiveTime: history's duration is the active time, less what the
// operation stood still; created to updated from a daemon that does not
// send it.
func TestActiveTime(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	op := &v1.Operation{Created: timestamppb.New(t0), Updated: timestamppb.New(t0.Add(time.Hour))}
	if got := activeTime(op); got != time.Hour {
		t.Errorf("without active: %s, want 1h", got)
	}
	op.Active = durationpb.New(5 * time.Second)
	if got := activeTime(op); got != 5*time.Second {
		t.Errorf("with active: %s, want 5s", got)
	}
}
