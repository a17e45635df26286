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
// and how to see it (issue 13: it said only "context canceled").
func TestInterrupted(t *testing.T) {
	cases := []struct {
		op   uint64
		want []string
	}{
		{7, []string{"operation 7 continues in volctld", "volctl op watch 7"}},
		{0, []string{"--request-id r-1 follows it", "pool/v@s"}},
	}
	for _, tc := range cases {
		err := interrupted(tc.op, "r-1", "pool/v@s")
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("interrupted(%d) = %q, want %q in it", tc.op, err, w)
			}
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
