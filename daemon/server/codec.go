package server

import (
	"fmt"
	"strings"
	"sync"

	"google.golang.org/grpc/encoding"
	protocodec "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/volctl/volctl/daemon/engine"
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

// Unmarshal decodes a request. One that cannot be decoded at all
// (truncated, not protobuf) is the caller's mistake too, and grpc-go would
// report it as codes.Internal in the same way: the codec hands the request
// on empty and notes why (undecodable), and the guard refuses it with
// InvalidArgument once it has admitted the caller (checkDecoded).
func (c lenientCodec) Unmarshal(data mem.BufferSlice, v any) error {
	err := c.CodecV2.Unmarshal(data, v)
	if err == nil {
		return nil
	}
	m, ok := v.(proto.Message)
	if !ok {
		return err
	}
	if strings.Contains(err.Error(), "invalid UTF-8") {
		keepErr := unmarshalKeepingStrings(data.Materialize(), m)
		if keepErr == nil {
			return nil
		}
		err = keepErr // more than the strings is wrong
	}
	proto.Reset(m)
	// protobuf-go puts a no-break space after "proto:" in its errors.
	why := strings.ReplaceAll(err.Error(), "\u00a0", " ")
	undecodable.Store(m, fmt.Errorf("the request is not a valid %s (truncated or not protobuf: %s): %w",
		m.ProtoReflect().Descriptor().FullName(), why, engine.ErrInvalid))
	return nil
}

// undecodable maps a request the codec could not decode to why. The guard
// takes every entry out (takeUndecodable), whatever it decides, so none
// stays behind.
var undecodable sync.Map

// takeUndecodable returns (and forgets) why req could not be decoded; nil
// for a request that was.
func takeUndecodable(req any) error {
	if v, ok := undecodable.LoadAndDelete(req); ok {
		return v.(error)
	}
	return nil
}

// checkDecoded refuses a request the codec could not decode (bad, from
// takeUndecodable), then one with a string that is not UTF-8.
func checkDecoded(req any, bad error) error {
	if bad != nil {
		return bad
	}
	return checkUTF8(req)
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
