package cli

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/volctl/volctl/proto/volctl/v1"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/json")

// TestJSONGolden pins the JSON shape docs/json.md documents: proto names,
// zero values kept, enums by name, 64-bit integers as numbers up to 2^53-1
// and strings above, timestamps RFC 3339 UTC, durations "1.5s", and a
// string of digits left a string.
func TestJSONGolden(t *testing.T) {
	at := time.Date(2026, 12, 2, 4, 5, 6, 0, time.UTC)
	for _, tc := range []struct {
		name string
		msg  proto.Message
	}{
		{"operations", &v1.ListOperationsResponse{Operations: []*v1.Operation{
			{
				Id: 7, Kind: "rollback", Volume: "pool/idisk0", Snapshot: "pool/idisk0@snap1",
				State:   v1.OperationState_OPERATION_STATE_SUCCEEDED,
				Created: timestamppb.New(at), Updated: timestamppb.New(at.Add(1500 * time.Millisecond)),
				Outage:      durationpb.New(38 * time.Millisecond),
				RequestedBy: "12345",
				// A group: volume is the first, volumes every one.
				Volumes:        []string{"pool/idisk0", "pool/idisk1"},
				Snapshots:      []string{"pool/idisk0@snap1", "pool/idisk1@snap1"},
				RecoverOptions: &v1.RecoverOptions{},
				Steps: []*v1.Step{{Index: 0, Name: "capture", State: v1.StepState_STEP_STATE_DONE,
					Commands: []*v1.CommandRun{{Argv: []string{"zfs", "list"}, ExitCode: 0, Duration: durationpb.New(11 * time.Millisecond)}}}},
			},
			{Id: 1 << 53},
		}}},
		{"resolved", &v1.ResolveOperationResponse{Operation: &v1.Operation{
			Id: 3, Kind: "rollback", Volume: "pool/idisk0", Snapshot: "pool/idisk0@snap1",
			State:   v1.OperationState_OPERATION_STATE_RESOLVED,
			Created: timestamppb.New(at), Updated: timestamppb.New(at.Add(time.Hour)),
			Resolution: &v1.Resolution{Time: timestamppb.New(at.Add(time.Hour)), By: "uid=0(root) gid=0 (operator)",
				Reason: "attached kz1 by hand", Attention: "the volume is at pool/idisk0@snap1; these steps are left: attach-zones"},
		}}},
		// issue 22: the kept datasets (a space read, one not read, one
		// no longer kept) and an undo's last stream message.
		{"kept", &v1.ListKeptResponse{Kept: []*v1.KeptDataset{
			{OperationId: 7, Kind: "rollback", Volume: "pool/idisk0", Snapshot: "pool/idisk0@snap1", Dataset: "pool/idisk0.kept-7-20261202T040506Z",
				Created: timestamppb.New(at), State: "kept", UsedBytes: 1 << 30},
			{OperationId: 8, Kind: "rollback", Volume: "pool/idisk1", Snapshot: "pool/idisk1@base", Dataset: "pool/idisk1.kept-8-20261202T050506Z",
				Created: timestamppb.New(at.Add(time.Hour)), State: "kept", UsedError: "zfs get used pool/idisk1.kept-8-20261202T050506Z: dataset does not exist"},
			{OperationId: 9, Kind: "undo", Volume: "pool/idisk0", Snapshot: "pool/idisk0@snap1", Dataset: "pool/idisk0.kept-9-20261202T060506Z",
				Created: timestamppb.New(at.Add(2 * time.Hour)), State: "undone", EndedBy: 10, UsedError: "no longer kept: undone by operation 10"},
		}}},
		{"undo", &v1.UndoResponse{Event: &v1.UndoResponse_Operation{Operation: &v1.Operation{
			Id: 9, Kind: "undo", Volume: "pool/idisk0", Snapshot: "pool/idisk0@snap1",
			State:   v1.OperationState_OPERATION_STATE_SUCCEEDED,
			Created: timestamppb.New(at), Updated: timestamppb.New(at.Add(2 * time.Second)),
			Options: &v1.RollbackOptions{Keep: true}, UndoOf: 7,
			Kept: []*v1.KeptVolume{{Volume: "pool/idisk0", Dataset: "pool/idisk0.kept-9-20261202T040506Z", UsedBytes: 1 << 30,
				Restore: "pool/idisk0.kept-7-20261202T030506Z"}},
		}}}},
		{"volume", &v1.GetVolumeResponse{Volume: &v1.Volume{Name: "pool/idisk0", Volsize: 1 << 30,
			LogicalUnits: []*v1.LogicalUnit{{Guid: "600144F0A613C900000054521D550001", Size: 1<<53 - 1,
				Properties: map[string]string{"mgmt-url": "-"}}},
			Sessions: &v1.Sessions{Read: true, Sessions: []*v1.Session{
				{Guid: "600144F0A613C900000054521D550001", Initiator: "iqn.1986-03.com.sun:01:kzhost", Target: "iqn.1986-03.com.sun:02:tgt-a",
					ViewEntry: proto.Int32(0), Lun: 0, LoggedInSince: "Tue Dec  1 18:47:19 2026"},
				{Guid: "600144F0A613C900000054521D550001", Initiator: "iqn.1994-05.com.redhat:tgt", Target: "iqn.2001-04.com.example:t1", Lun: 1}}}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := marshalJSON(tc.msg)
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if err := json.Indent(&got, b, "", "  "); err != nil {
				t.Fatalf("not JSON: %v\n%s", err, b)
			}
			got.WriteByte('\n')
			path := filepath.Join("testdata", "json", tc.name+".golden")
			if *update {
				if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("%s differs from the golden file (go test -run TestJSONGolden -update to accept):\n%s", path, got.Bytes())
			}
		})
	}
}

// TestJSONNumbers covers the edges of the 53-bit rule on signed and
// unsigned fields (the API has only unsigned 64-bit fields; descriptorpb's
// UninterpretedOption has one of each).
func TestJSONNumbers(t *testing.T) {
	for _, tc := range []struct {
		pos  uint64
		neg  int64
		want string
	}{
		{0, 0, `{"name":[],"identifier_value":null,"positive_int_value":0,"negative_int_value":0,"double_value":null,"string_value":null,"aggregate_value":null}`},
		{1<<53 - 1, -(1<<53 - 1), `{"name":[],"identifier_value":null,"positive_int_value":9007199254740991,"negative_int_value":-9007199254740991,"double_value":null,"string_value":null,"aggregate_value":null}`},
		{1 << 53, -(1 << 53), `{"name":[],"identifier_value":null,"positive_int_value":"9007199254740992","negative_int_value":"-9007199254740992","double_value":null,"string_value":null,"aggregate_value":null}`},
		{1<<64 - 1, -1 << 63, `{"name":[],"identifier_value":null,"positive_int_value":"18446744073709551615","negative_int_value":"-9223372036854775808","double_value":null,"string_value":null,"aggregate_value":null}`},
	} {
		b, err := marshalJSON(&descriptorpb.UninterpretedOption{PositiveIntValue: &tc.pos, NegativeIntValue: &tc.neg})
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tc.want {
			t.Errorf("%d, %d:\n got %s\nwant %s", tc.pos, tc.neg, b, tc.want)
		}
	}
}
