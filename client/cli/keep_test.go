package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/volctl/volctl/proto/volctl/v1"
)

// keptListing is a kept listing with a space read, one not read and one no
// longer kept.
func keptListing() *v1.ListKeptResponse {
	at := time.Date(2026, 12, 2, 4, 5, 6, 0, time.UTC)
	return &v1.ListKeptResponse{Kept: []*v1.KeptDataset{
		{OperationId: 7, Kind: "rollback", Volume: "pool/idisk0", Snapshot: "pool/idisk0@snap1", Dataset: "pool/idisk0.kept-7-20261202T040506Z",
			Created: timestamppb.New(at), State: "kept", UsedBytes: 1536 << 20},
		{OperationId: 8, Kind: "rollback", Volume: "pool/idisk1", Snapshot: "pool/idisk1@base", Dataset: "pool/idisk1.kept-8-20261202T050506Z",
			Created: timestamppb.New(at.Add(time.Hour)), State: "kept", UsedError: "zfs get used: dataset does not exist"},
		{OperationId: 9, Kind: "undo", Volume: "pool/idisk0", Snapshot: "pool/idisk0@snap1", Dataset: "pool/idisk0.kept-9-20261202T060506Z",
			Created: timestamppb.New(at.Add(2 * time.Hour)), State: "undone", EndedBy: 10, UsedError: "no longer kept: undone by operation 10"},
		{OperationId: 11, Kind: "rollback", Volume: "pool/idisk2", Snapshot: "pool/idisk2@s", Dataset: "pool/idisk2.kept-11-20261202T070506Z",
			Created: timestamppb.New(at.Add(3 * time.Hour)), State: "kept", UsedBytes: 0},
	}}
}

// TestKeptTable pins volctl kept's table (testdata/kept/*.golden): OP
// KIND VOLUME SNAPSHOT DATASET CREATED STATE USED; USED is the space read,
// or why it was not read, never a 0 that was not read; -H and -p as every
// table has them.
func TestKeptTable(t *testing.T) {
	for _, tc := range []struct {
		name string
		a    app
	}{
		{"table", app{utc: true}},
		{"scripted", app{utc: true, scripted: true, parsable: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			a := tc.a
			a.stdout = &out
			if err := a.printKept(keptListing()); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "kept", tc.name+".golden")
			if *update {
				if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if out.String() != string(want) {
				t.Errorf("volctl kept printed\n%s\nwant (%s)\n%s", out.String(), path, want)
			}
			for _, l := range strings.Split(out.String(), "\n") {
				if strings.HasPrefix(l, "8 ") || strings.HasPrefix(l, "8\t") {
					if !strings.HasSuffix(l, "zfs get used: dataset does not exist") {
						t.Errorf("a space not read printed as %q, not why", l)
					}
				}
			}
		})
	}
}

// TestKeepPlanText: a keep rollback's, an undo's and a forget's plans say
// what is kept, brought back and destroyed; a keep's newer snapshots are
// kept, not destroyed.
func TestKeepPlanText(t *testing.T) {
	kept := []*v1.KeptVolume{{Volume: "pool/idisk0", Dataset: "pool/idisk0.kept-9-20261202T040506Z", UsedBytes: 1 << 30}}
	tests := []struct {
		name string
		plan *v1.Plan
		want []string
		not  []string
	}{
		{"keep", &v1.Plan{Kind: "rollback", Volume: "pool/idisk0", Snapshot: "pool/idisk0@snap1", NewerSnapshots: []string{"pool/idisk0@snap2"}, Kept: kept},
			[]string{"Roll pool/idisk0 back to pool/idisk0@snap1\n", "  keeps newer snapshot pool/idisk0@snap2 in the kept dataset\n",
				"  keeps pool/idisk0 as pool/idisk0.kept-9-20261202T040506Z (up to 1G, allocated until forgotten)\n"},
			[]string{"destroys"}},
		{"undo", &v1.Plan{Kind: "undo", UndoOf: 7, Volume: "pool/idisk0", Snapshot: "pool/idisk0@snap1",
			Kept: []*v1.KeptVolume{{Volume: "pool/idisk0", Dataset: "pool/idisk0.kept-9-20261202T040506Z", Restore: "pool/idisk0.kept-7-20261202T030506Z"}}},
			[]string{"Undo operation 7: pool/idisk0 back to what it held before it went back to pool/idisk0@snap1\n",
				"  brings back pool/idisk0.kept-7-20261202T030506Z as pool/idisk0; keeps pool/idisk0 as pool/idisk0.kept-9-20261202T040506Z\n"},
			[]string{"Roll ", "destroys"}},
		{"forget", &v1.Plan{Kind: "forget", ForgetOf: 7, Volume: "pool/idisk0", ForgetDatasets: []string{"pool/idisk0.kept-7-20261202T030506Z"}},
			[]string{"Forget operation 7: destroy what it kept\n", "  destroys kept dataset pool/idisk0.kept-7-20261202T030506Z, with its snapshots\n"},
			[]string{"Roll "}},
		{"plain rollback", &v1.Plan{Kind: "rollback", Volume: "pool/idisk0", Snapshot: "pool/idisk0@snap1", NewerSnapshots: []string{"pool/idisk0@snap2"}},
			[]string{"  destroys newer snapshot pool/idisk0@snap2\n"}, []string{"keeps"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			(&app{stdout: &out}).printPlan(tc.plan, false)
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("plan printed\n%s\nwithout %q", out.String(), w)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(out.String(), n) {
					t.Errorf("plan printed\n%s\nwith %q", out.String(), n)
				}
			}
		})
	}
}

// TestKeepOperationText: history's KIND, op show's undoes/forgets lines
// and the kept datasets, and a keep's result, which says how to swap back
// and how to free the space.
func TestKeepOperationText(t *testing.T) {
	kept := []*v1.KeptVolume{{Volume: "pool/idisk0", Dataset: "pool/idisk0.kept-9-20261202T040506Z"}}
	for op, want := range map[*v1.Operation]string{
		{Kind: "rollback"}: "rollback",
		{Kind: "rollback", Options: &v1.RollbackOptions{Keep: true}}: "keep",
		{Kind: "undo", UndoOf: 7}:                                    "undo:7",
		{Kind: "forget", ForgetOf: 7}:                                "forget:7",
	} {
		if got := kindWord(op); got != want {
			t.Errorf("kindWord(%v) = %q, want %q", op, got, want)
		}
	}
	at := timestamppb.New(time.Date(2026, 12, 2, 4, 5, 6, 0, time.UTC))
	undo := &v1.Operation{Id: 9, Kind: "undo", UndoOf: 7, Volume: "pool/idisk0", Snapshot: "pool/idisk0@snap1", Created: at, Updated: at,
		State: v1.OperationState_OPERATION_STATE_SUCCEEDED, Kept: kept,
		Plan: &v1.Plan{Kind: "undo", UndoOf: 7, Volume: "pool/idisk0", Snapshot: "pool/idisk0@snap1", Kept: kept}}
	var out bytes.Buffer
	a := &app{stdout: &out, utc: true}
	a.printOperation(undo)
	for _, w := range []string{"Operation 9: undo pool/idisk0 -> pool/idisk0@snap1\n", "  undoes:    operation 7 (volctl op show 7)\n",
		"Undo operation 7: pool/idisk0 back to what it held before it went back to pool/idisk0@snap1\n",
		"  keeps pool/idisk0 as pool/idisk0.kept-9-20261202T040506Z\n"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("op show printed\n%s\nwithout %q", out.String(), w)
		}
	}
	out.Reset()
	a.printResult(undo)
	for _, w := range []string{"  kept: pool/idisk0 as pool/idisk0.kept-9-20261202T040506Z\n",
		"  volctl undo 9 swaps back; volctl forget 9 --destroy-kept frees the space\n"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("result printed\n%s\nwithout %q", out.String(), w)
		}
	}
}
