package cli

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/volctl/volctl/proto/volctl/v1"
)

// TestProgressDuration: a step's end prints its duration only when the
// stream saw its start (issue 13: a missing start printed
// 2562047h47m16.854775807s).
func TestProgressDuration(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	ev := func(i int32, st v1.StepState, at time.Duration) *v1.StepEvent {
		return &v1.StepEvent{Index: i, Name: "delete-lu", State: st, Time: timestamppb.New(t0.Add(at))}
	}
	cases := []struct {
		name   string
		events []*v1.StepEvent
		want   string
	}{
		{"start seen", []*v1.StepEvent{ev(1, v1.StepState_STEP_STATE_RUNNING, 0), ev(1, v1.StepState_STEP_STATE_DONE, 1500*time.Millisecond)},
			"[1/2] delete-lu\n      delete-lu done (1.5s)\n"},
		{"start not seen", []*v1.StepEvent{ev(1, v1.StepState_STEP_STATE_DONE, time.Second)},
			"      delete-lu done\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			p := &progress{a: &app{stdout: &out}, plan: &v1.Plan{Steps: make([]*v1.PlannedStep, 3)}, started: map[int32]time.Time{}}
			for _, e := range tc.events {
				p.step(e)
			}
			if got := out.String(); got != tc.want {
				t.Errorf("printed\n%q\nwant\n%q", got, tc.want)
			}
			if strings.Contains(out.String(), "h47m") {
				t.Errorf("a duration from a zero start: %q", out.String())
			}
		})
	}
}

// TestInterrupted: Ctrl-C during a rollback says the operation goes on
// and how to see it (issue 13: it said only "context canceled"). Before the
// stream named the operation it says what volctld answers for the request
// id, and never advises the same command, which would start the rollback
// when it had not started (issue 21).
func TestInterrupted(t *testing.T) {
	started := &v1.GetRequestStatusResponse{State: v1.RequestState_REQUEST_STATE_STARTED,
		Operation: &v1.Operation{Id: 9, State: v1.OperationState_OPERATION_STATE_RUNNING}}
	cases := []struct {
		name   string
		op     uint64
		answer requestAnswer
		want   []string
	}{
		{"operation known", 7, requestAnswer{err: errors.New("must not be asked")}, []string{"operation 7 continues in volctld", "volctl op watch 7"}},
		{"not started", 0, requestAnswer{resp: &v1.GetRequestStatusResponse{State: v1.RequestState_REQUEST_STATE_NOT_STARTED}},
			[]string{"pool/v@s", "it did not start, nothing changed"}},
		{"started", 0, requestAnswer{resp: started}, []string{"had started: operation 9", "volctl op watch 9"}},
		{"still planned for another", 0, requestAnswer{resp: &v1.GetRequestStatusResponse{State: v1.RequestState_REQUEST_STATE_PLANNING}},
			[]string{"may start", "volctl op request r-1"}},
		{"not answered", 0, requestAnswer{err: status.Error(codes.Unavailable, "connection refused")},
			[]string{"could not be asked", "volctl op request r-1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			asked := false
			err := interrupted(tc.op, "r-1", "pool/v@s", func() requestAnswer { asked = true; return tc.answer })
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("interrupted(%d) = %q, want %q in it", tc.op, err, w)
				}
			}
			if strings.Contains(err.Error(), "--request-id") {
				t.Errorf("interrupted(%d) = %q: advises the command that would start the rollback", tc.op, err)
			}
			if asked != (tc.op == 0) {
				t.Errorf("interrupted(%d) asked volctld: %v", tc.op, asked)
			}
			if status.Code(err) != codes.Canceled {
				t.Errorf("interrupted(%d): code %v, want Canceled", tc.op, status.Code(err))
			}
		})
	}
}

// TestConnectionLost: volctld gone mid-stream (kill -9) says the operation
// and how to follow it once volctld is back, or, before the stream named
// it, how to find it (issue 21: it said "error reading from server: EOF").
func TestConnectionLost(t *testing.T) {
	eof := status.Error(codes.Unavailable, "error reading from server: EOF")
	for _, tc := range []struct {
		op   uint64
		want []string
	}{
		{4, []string{"operation 4", "once volctld is back: volctl op watch 4", "EOF"}},
		{0, []string{"pool/v@s", "not known here", "volctl op request r-1", "volctl history"}},
	} {
		err := connectionLost(eof, tc.op, "r-1", "pool/v@s")
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("connectionLost(%d) = %q, want %q in it", tc.op, err, w)
			}
		}
		if status.Code(err) != codes.Unavailable {
			t.Errorf("connectionLost(%d): code %v", tc.op, status.Code(err))
		}
	}
}

// TestProgressCommands: a command's start prints a running line (with its
// host when a peer runs it), its end the exit and duration; a command
// still running when nothing was printed for a while is said to be, with
// how long it has run, and one that ended is not.
func TestProgressCommands(t *testing.T) {
	t0 := time.Now()
	run := func(host string, argv ...string) *v1.CommandRun {
		return &v1.CommandRun{Argv: argv, Host: host, Started: timestamppb.New(t0)}
	}
	var out bytes.Buffer
	p := newProgress(&app{stdout: &out})
	p.step(&v1.StepEvent{Index: 3, CommandStarted: run("", "zfs", "rollback", "pool/v@s")})
	p.step(&v1.StepEvent{Index: 6, CommandStarted: run("peer1", "zoneadm", "-z", "kz1", "boot")})
	ended := run("peer1", "zoneadm", "-z", "kz1", "boot")
	ended.Duration = durationpb.New(2 * time.Second)
	p.step(&v1.StepEvent{Index: 6, Command: ended})
	p.stillRunning(time.Now(), time.Hour) // printed just now: quiet
	p.stillRunning(t0.Add(12*time.Second), 10*time.Second)
	p.stillRunning(t0.Add(13*time.Second), 10*time.Second) // printed a second ago
	// A command whose start was the line just before: its result goes
	// under it.
	p.step(&v1.StepEvent{Index: 7, CommandStarted: run("", "zoneadm", "-z", "kz1", "list", "-p")})
	ended = run("", "zoneadm", "-z", "kz1", "list", "-p")
	ended.ExitCode, ended.Duration = 1, durationpb.New(15*time.Millisecond)
	p.step(&v1.StepEvent{Index: 7, Command: ended})
	// Two side by side (a group's volumes): an end after another line
	// repeats its command.
	p.step(&v1.StepEvent{Index: 8, CommandStarted: run("", "zfs", "rollback", "pool/a@s")})
	p.step(&v1.StepEvent{Index: 8, CommandStarted: run("", "zfs", "rollback", "pool/b@s")})
	ended = run("", "zfs", "rollback", "pool/a@s")
	ended.Duration = durationpb.New(time.Second)
	p.step(&v1.StepEvent{Index: 8, Command: ended})
	want := "      running: $ zfs rollback pool/v@s\n" +
		"      running: [peer1] $ zoneadm -z kz1 boot\n" +
		"               exit 0, 2s\n" +
		"      still running: $ zfs rollback pool/v@s (12s)\n" +
		"      running: $ zoneadm -z kz1 list -p\n" +
		"               exit 1, 15ms\n" +
		"      running: $ zfs rollback pool/a@s\n" +
		"      running: $ zfs rollback pool/b@s\n" +
		"      $ zfs rollback pool/a@s  (exit 0, 1s)\n"
	if got := out.String(); got != want {
		t.Errorf("printed\n%s\nwant\n%s", got, want)
	}
}

// TestProgressWaiting: a rollback with --wait says what it waits for (the
// note volctld sends before the operation exists) and, while nothing else
// is printed, that it still waits; the plan ends the wait (issue 21: it was
// silent).
func TestProgressWaiting(t *testing.T) {
	t0 := time.Now()
	var out bytes.Buffer
	p := newProgress(&app{stdout: &out})
	msg := "waiting for operation 3 (rollback of pool/v@s, at step zfs-rollback) to end: it holds volume pool/v"
	p.step(&v1.StepEvent{Message: msg, Time: timestamppb.New(t0)})
	if got := out.String(); got != msg+"\n" {
		t.Fatalf("printed %q, want the note as its own line %q", got, msg+"\n")
	}
	out.Reset()
	p.stillRunning(p.printed.Add(5*time.Second), 10*time.Second)
	if out.Len() != 0 {
		t.Errorf("printed %q before the period", out.String())
	}
	p.stillRunning(p.printed.Add(20*time.Second), 10*time.Second)
	if got := out.String(); got != "      still waiting (20s)\n" {
		t.Errorf("after 20 s printed %q, want the wait", got)
	}
	p.planned()
	out.Reset()
	p.stillRunning(p.printed.Add(time.Minute), 10*time.Second)
	if out.Len() != 0 {
		t.Errorf("still says %q after the plan", out.String())
	}
}
