package client

import (
	"errors"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

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
