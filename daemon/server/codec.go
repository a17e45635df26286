package server

import (
	"strings"

	"google.golang.org/grpc/encoding"
	protocodec "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Codec is the server's proto codec, for grpc.ForceServerCodecV2: the
// standard one, except for a request with a string field that is not valid
// UTF-8. grpc-go refuses those while decoding, before any interceptor runs,
// with codes.Internal ("grpc: error unmarshalling request: string field
// contains invalid UTF-8"): the caller's mistake reported as volctld's. This
// codec decodes such a request with the strings as they came, and the guard
// refuses it with InvalidArgument, naming the field (checkUTF8).
func Codec() encoding.CodecV2 {
	return lenientCodec{encoding.GetCodecV2(protocodec.Name)}
}

type lenientCodec struct{ encoding.CodecV2 }

func (c lenientCodec) Unmarshal(data mem.BufferSlice, v any) error {
	err := c.CodecV2.Unmarshal(data, v)
	if err == nil || !strings.Contains(err.Error(), "invalid UTF-8") {
		return err
	}
	m, ok := v.(proto.Message)
	if !ok {
		return err
	}
	if keepErr := unmarshalKeepingStrings(data.Materialize(), m); keepErr != nil {
		return err
	}
	return nil
}

// unmarshalKeepingStrings decodes b into m field by field, setting the
// top-level string fields as they are, valid UTF-8 or not; the other fields
// go through proto.Unmarshal (a nested message with a bad string is still an
// error: no volctl request has one).
func unmarshalKeepingStrings(b []byte, m proto.Message) error {
	proto.Reset(m)
	r := m.ProtoReflect()
	fields := r.Descriptor().Fields()
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		vn := protowire.ConsumeFieldValue(num, typ, b[n:])
		if vn < 0 {
			return protowire.ParseError(vn)
		}
		fd := fields.ByNumber(num)
		if fd != nil && fd.Kind() == protoreflect.StringKind && !fd.IsMap() && typ == protowire.BytesType {
			s, _ := protowire.ConsumeBytes(b[n:])
			if fd.IsList() {
				r.Mutable(fd).List().Append(protoreflect.ValueOfString(string(s)))
			} else {
				r.Set(fd, protoreflect.ValueOfString(string(s)))
			}
		} else if err := (proto.UnmarshalOptions{Merge: true}).Unmarshal(b[:n+vn], m); err != nil {
			return err
		}
		b = b[n+vn:]
	}
	return nil
}
