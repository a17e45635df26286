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

// TestOperationDurationOneDefinition: the duration rollback, recover and
// op watch print at the end is the one history prints, the operation's
// active time (issue 21 item 11: recover said 3.4s where history said
// 102ms for an operation that stood still 3.3s waiting for recover).
func TestOperationDurationOneDefinition(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	op := &v1.Operation{Id: 23, Kind: "rollback", Volume: "pool/idisk0", Snapshot: "pool/idisk0@snap1",
		State:   v1.OperationState_OPERATION_STATE_SUCCEEDED,
		Created: timestamppb.New(t0), Updated: timestamppb.New(t0.Add(3400 * time.Millisecond)),
		Active: durationpb.New(102 * time.Millisecond), Outage: durationpb.New(38 * time.Millisecond)}
	for _, parsable := range []bool{false, true} {
		a := &app{parsable: parsable}
		// history's DURATION and OUTAGE columns (history.go)
		duration := a.fmtDuration(activeTime(op), time.Millisecond)
		outage := a.fmtDuration(op.GetOutage().AsDuration(), time.Millisecond)
		var out bytes.Buffer
		a.stdout = &out
		a.printResult(op)
		want := " in " + duration + ", LU outage window " + outage
		if line, _, _ := strings.Cut(out.String(), "\n"); !strings.HasSuffix(line, want) {
			t.Errorf("parsable=%v: the result says %q, history's DURATION and OUTAGE are %s and %s", parsable, line, duration, outage)
		}
	}
}
