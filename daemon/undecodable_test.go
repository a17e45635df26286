package daemon_test

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	v1 "github.com/volctl/volctl/proto/volctl/v1"
	"github.com/volctl/volctl/sim/simtest"
)

// bytesCodec sends a request as the bytes given (what a broken or hostile
// client sends); replies decode as usual.
type bytesCodec struct{}

func (bytesCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(v.([]byte))}, nil
}
func (bytesCodec) Unmarshal(data mem.BufferSlice, v any) error {
	return proto.Unmarshal(data.Materialize(), v.(proto.Message))
}
func (bytesCodec) Name() string { return "proto" }

// TestUndecodableRequestOverTheSocket: volctld, over its unix socket,
// answers a truncated request with InvalidArgument saying so, not
// Internal (issue 19, item 6), and goes on serving.
func TestUndecodableRequestOverTheSocket(t *testing.T) {
	root := simtest.Host(t)
	cfg, sock := writeConfigWith(t, root, "", "")
	d := startDaemon(t, cfg, sock)
	c := d.client()
	b := protowire.AppendTag(nil, 1, protowire.BytesType)
	b = protowire.AppendVarint(b, 40) // says 40 bytes; 11 follow
	b = append(b, "pool/idisk0"...)
	var resp v1.GetVolumeResponse
	err := c.Conn().Invoke(context.Background(), "/volctl.v1.VolumeService/GetVolume", b, &resp, grpc.ForceCodecV2(bytesCodec{}))
	st := status.Convert(err)
	if st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), "the request is not a valid volctl.v1.GetVolumeRequest (truncated") {
		t.Fatalf("truncated GetVolume: %s %q, want InvalidArgument saying it is truncated", st.Code(), st.Message())
	}
	if _, err := c.Volumes.GetVolume(context.Background(), &v1.GetVolumeRequest{Name: "pool/idisk0"}); err != nil {
		t.Errorf("a whole request after it: %v", err)
	}
}
