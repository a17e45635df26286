package client

import (
	"errors"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestMessageConsentFlags: a missing consent's details become the flags
// that give it (the daemon names API fields, not flags).
func TestMessageConsentFlags(t *testing.T) {
	consent := func(md map[string]string, subjects ...string) error {
		st := status.New(codes.FailedPrecondition, "zone kz1 is running: needs consent halt_zones")
		pf := &errdetails.PreconditionFailure{}
		for _, s := range subjects {
			pf.Violations = append(pf.Violations, &errdetails.PreconditionFailure_Violation{Type: "CONSENT", Subject: s, Description: "d"})
		}
		st, err := st.WithDetails(&errdetails.ErrorInfo{Reason: "CONSENT_REQUIRED", Domain: "volctl.io", Metadata: md}, pf)
		if err != nil {
			t.Fatal(err)
		}
		return st.Err()
	}
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"one", consent(nil, "halt_zones"), "zone kz1 is running: needs consent halt_zones (FailedPrecondition); pass --halt-zones to consent"},
		{"several, once each", consent(nil, "halt_zones", "destroy_newer", "halt_zones", "only_these_disks"),
			"zone kz1 is running: needs consent halt_zones (FailedPrecondition); pass --halt-zones and --destroy-newer and --only-these-disks to consent"},
		{"a peer to skip", consent(map[string]string{"peers": "kz-host1"}, "skip_peers"),
			"zone kz1 is running: needs consent halt_zones (FailedPrecondition); pass --skip-peer kz-host1 to consent"},
		{"options refused", func() error {
			st, _ := status.New(codes.InvalidArgument, "halt_zones, skip_peers: the linux-tgt platform has no zones: invalid argument").WithDetails(
				&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "options.halt_zones"}, {Field: "options.skip_peers"}}})
			return st.Err()
		}(), "halt_zones, skip_peers: the linux-tgt platform has no zones (InvalidArgument); the flags: --halt-zones, --skip-peer"},
		{"no details", status.Error(codes.FailedPrecondition, "zone kz1 is running: needs consent halt_zones"),
			"zone kz1 is running: needs consent halt_zones (FailedPrecondition)"},
	}
	for _, tc := range cases {
		if got := Message(tc.err); got != tc.want {
			t.Errorf("%s: Message = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestMessage: the code is said once (issue 13: "...: not found
// (NotFound)").
func TestMessage(t *testing.T) {
	cases := []struct {
		err  error
		want string
	}{
		{status.Error(codes.NotFound, "snapshot pool/v@x does not exist: not found"), "snapshot pool/v@x does not exist (NotFound)"},
		{status.Error(codes.FailedPrecondition, "zone kz1 is running; pass --halt-zones: failed precondition"), "zone kz1 is running; pass --halt-zones (FailedPrecondition)"},
		{status.Error(codes.InvalidArgument, "invalid name \"a;b\": invalid character ';' in name"), "invalid name \"a;b\": invalid character ';' in name (InvalidArgument)"},
		{status.Error(codes.Aborted, "volume pool/v is busy with operation 3"), "volume pool/v is busy with operation 3 (Aborted)"},
		{status.Error(codes.AlreadyExists, "request id \"X\" belongs to operation 2: already exists"), "request id \"X\" belongs to operation 2 (AlreadyExists)"},
		{errors.New("plain"), "plain"},
	}
	for _, tc := range cases {
		if got := Message(tc.err); got != tc.want {
			t.Errorf("Message(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
