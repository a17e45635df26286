package server

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"

	v1 "github.com/volctl/volctl/proto/volctl/v1"
)

// truncated is a string field whose length says more bytes than follow.
func truncated(num protowire.Number, s string) rawRequest {
	b := protowire.AppendTag(nil, num, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(len(s)+10))
	return append(b, s...)
}

// TestUndecodableRequest: a request whose bytes are not a whole message
// (truncated, not protobuf) is the caller's mistake, InvalidArgument with
// what was wrong, not Internal (issue 19, item 6); it is refused after the
// caller is admitted (a caller without the role still gets
// PermissionDenied) and audited like any refused call.
func TestUndecodableRequest(t *testing.T) {
	ctx := context.Background()
	d := startDaemon(t, fakeBackend{}, grpc.ForceServerCodecV2(Codec()))
	unary := func(method string, req rawRequest) func(c *grpc.ClientConn) error {
		return func(c *grpc.ClientConn) error {
			var resp v1.GetVolumeResponse // any message: the call fails before a reply
			return c.Invoke(ctx, method, req, &resp, grpc.ForceCodecV2(rawCodec{}))
		}
	}
	tests := []struct {
		name string
		call func(c *grpc.ClientConn) error
		want string
	}{
		{"GetVolume truncated", unary("/volctl.v1.VolumeService/GetVolume", truncated(1, "pool/v")),
			"the request is not a valid volctl.v1.GetVolumeRequest (truncated or not protobuf: proto: cannot parse invalid wire-format data)"},
		{"GetVolume not protobuf", unary("/volctl.v1.VolumeService/GetVolume", rawRequest("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff")),
			"the request is not a valid volctl.v1.GetVolumeRequest"},
		{"CreateSnapshot cut in a tag", unary("/volctl.v1.SnapshotService/CreateSnapshot", append(stringField(1, "pool/v@s"), 0x80)),
			"the request is not a valid volctl.v1.CreateSnapshotRequest"},
		{"GetVolume truncated, invalid UTF-8 too", unary("/volctl.v1.VolumeService/GetVolume", truncated(1, "pool/\xff")),
			"the request is not a valid volctl.v1.GetVolumeRequest"},
		{"Rollback truncated", func(c *grpc.ClientConn) error {
			return rawRollback(ctx, c, truncated(1, "pool/v@s"))
		}, "the request is not a valid volctl.v1.RollbackRequest"},
	}
	conn := d.dial(t, rootID)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := status.Convert(tc.call(conn))
			if st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), tc.want) {
				t.Fatalf("got %s %q, want InvalidArgument with %q", st.Code(), st.Message(), tc.want)
			}
		})
	}
	// Authorisation first: a viewer's truncated CreateSnapshot is denied.
	err := unary("/volctl.v1.SnapshotService/CreateSnapshot", truncated(1, "pool/v@s"))(d.dial(t, viewerID))
	if status.Code(err) != codes.PermissionDenied {
		t.Errorf("a viewer's truncated CreateSnapshot: %v, want PermissionDenied", err)
	}
	// The refused mutating calls are audited: CreateSnapshot, Rollback.
	d.guard.Flush()
	recs, err := d.db.ListAudit(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var results []string
	for _, r := range recs {
		results = append(results, r.Result)
	}
	if strings.Count(strings.Join(results, " "), codes.InvalidArgument.String()) != 2 {
		t.Errorf("audit results %v, want two InvalidArgument", results)
	}
	// Nothing the codec noted stays behind.
	n := 0
	undecodable.Range(func(any, any) bool { n++; return true })
	if n != 0 {
		t.Errorf("%d undecodable requests left in the codec's notes", n)
	}
}
