package server

import (
	"fmt"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/internal/zfsname"
	"github.com/volctl/volctl/store"
)

// Request limits, checked before a handler gives the engine anything: what
// the platform itself would refuse is refused before it is captured,
// journaled or audited whole.
const (
	// MaxRequestID is the longest request id (an idempotency key: a UUID
	// is 36 bytes); it must be printable ASCII. It is a bbolt key, and
	// bbolt refuses keys over 32 KB only when the operation is written,
	// after the capture ran.
	MaxRequestID = 128
	// quoteName is how much of a refused name an error quotes.
	quoteName = 64
)

// checkName refuses a volume or snapshot name longer than ZFS allows
// (zfsname.MaxNameLen: ZFS_MAX_DATASET_NAME_LEN less the NUL), in the words of
// libzfs. Everything else about the name is the backend's to judge
// (Backend.VolumeOf, which validates it by the platform's rules).
func checkName(field, name string) error {
	if len(name) <= zfsname.MaxNameLen {
		return nil
	}
	return fmt.Errorf("%s: %w (%d bytes, at most %d): %w", field,
		&zfsname.NameError{Name: store.SafeText(name, quoteName), Reason: "name is too long"},
		len(name), zfsname.MaxNameLen, engine.ErrInvalid)
}

// checkRequestID refuses a request id that is too long or not printable
// ASCII (no spaces, no controls).
func checkRequestID(id string) error {
	if len(id) > MaxRequestID {
		return fmt.Errorf("request_id: %d bytes, at most %d: %w", len(id), MaxRequestID, engine.ErrInvalid)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c > '~' {
			return fmt.Errorf("request_id: byte %d is %#02x, not printable ASCII: %w", i, c, engine.ErrInvalid)
		}
	}
	return nil
}

// checkUTF8 refuses a request with a string field that is not valid UTF-8
// (proto3 strings must be). The standard codec refuses such a request before
// any interceptor runs, with codes.Internal; Codec lets it through so that
// this check can say which field, with InvalidArgument.
func checkUTF8(req any) error {
	m, ok := req.(proto.Message)
	if !ok {
		return nil
	}
	if path := badUTF8(m.ProtoReflect(), ""); path != "" {
		return fmt.Errorf("request field %s: invalid UTF-8: %w", path, engine.ErrInvalid)
	}
	return nil
}

// badUTF8 returns the path of the first string field of m that is not
// valid UTF-8, or "".
func badUTF8(m protoreflect.Message, prefix string) (path string) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		name := prefix + string(fd.Name())
		switch {
		case fd.IsMap():
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				if fd.MapKey().Kind() == protoreflect.StringKind && !utf8.ValidString(k.String()) {
					path = name + " (a key)"
				} else if p := badValue(fd.MapValue(), mv, name+"["+store.SafeText(k.String(), quoteName)+"]"); p != "" {
					path = p
				}
				return path == ""
			})
		case fd.IsList():
			l := v.List()
			for i := 0; i < l.Len() && path == ""; i++ {
				path = badValue(fd, l.Get(i), fmt.Sprintf("%s[%d]", name, i))
			}
		default:
			path = badValue(fd, v, name)
		}
		return path == ""
	})
	return path
}

func badValue(fd protoreflect.FieldDescriptor, v protoreflect.Value, name string) string {
	switch fd.Kind() {
	case protoreflect.StringKind:
		if !utf8.ValidString(v.String()) {
			return name
		}
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return badUTF8(v.Message(), name+".")
	}
	return ""
}
