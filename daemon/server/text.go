package server

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// maxReplyOutput caps a command's stdout and stderr in a reply: an
// operation with many commands must stay far below gRPC's 4 MiB message
// limit. The journal keeps what max_output allowed (volctl op show --output
// json of the record reads the same cap).
const maxReplyOutput = 64 << 10

// capOutput shortens a command's output for a reply, saying so.
func capOutput(s string) string {
	if len(s) <= maxReplyOutput {
		return s
	}
	cut := maxReplyOutput
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("\n...(%d more bytes in the journal record, not in this reply)", len(s)-cut)
}

// escapeInvalid makes s valid UTF-8, writing each byte that is not part of
// a valid sequence as \xNN: platform output (an LU alias, a zone's storage
// URI, a command's stderr) is shown as it is, never dropped, and never
// breaks the reply's marshaling.
func escapeInvalid(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			fmt.Fprintf(&b, `\x%02x`, s[i])
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// validText escapes every string field of a reply (recursively) that is not
// valid UTF-8; proto3 refuses to marshal those. It is applied to each reply
// built from the platform's or the journal's data.
func validText[M proto.Message](m M) M {
	fixMessage(m.ProtoReflect())
	return m
}

func fixMessage(m protoreflect.Message) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList():
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				if fd.Kind() == protoreflect.StringKind {
					if s := l.Get(i).String(); !utf8.ValidString(s) {
						l.Set(i, protoreflect.ValueOfString(escapeInvalid(s)))
					}
				} else if fd.Kind() == protoreflect.MessageKind {
					fixMessage(l.Get(i).Message())
				}
			}
		case fd.IsMap():
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				if fd.MapValue().Kind() == protoreflect.StringKind && !utf8.ValidString(mv.String()) {
					v.Map().Set(k, protoreflect.ValueOfString(escapeInvalid(mv.String())))
				} else if fd.MapValue().Kind() == protoreflect.MessageKind {
					fixMessage(mv.Message())
				}
				return true
			})
		case fd.Kind() == protoreflect.StringKind:
			if s := v.String(); !utf8.ValidString(s) {
				m.Set(fd, protoreflect.ValueOfString(escapeInvalid(s)))
			}
		case fd.Kind() == protoreflect.MessageKind:
			fixMessage(v.Message())
		}
		return true
	})
}
