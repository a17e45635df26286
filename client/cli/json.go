package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// maxSafeInt is the largest integer a JSON number carries exactly in every
// consumer (a float64's 53-bit mantissa: JavaScript's Number.MAX_SAFE_INTEGER).
const maxSafeInt = 1<<53 - 1

// marshalJSON is a message as volctl prints it (docs/json.md): protojson
// with proto field names and zero values kept, and 64-bit integers as JSON
// numbers when they fit in 53 bits (protojson makes every one a string, so
// that a script reads an operation id 7 as "7"); larger ones stay strings.
// The result is compact.
func marshalJSON(m proto.Message) ([]byte, error) {
	b, err := protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}.Marshal(m)
	if err != nil {
		return nil, err
	}
	return numberify(b, m.ProtoReflect().Descriptor())
}

// numberify rewrites the JSON of a message of type md, walking it with the
// descriptor so that only fields declared as 64-bit integers change (never
// a string field that happens to hold digits).
func numberify(raw []byte, md protoreflect.MessageDescriptor) ([]byte, error) {
	raw = bytes.TrimSpace(raw)
	// The well-known types have their own JSON (a Timestamp is an RFC 3339
	// string, a Duration "1.5s"): leave them as protojson wrote them.
	if string(raw) == "null" || wellKnown[md.ParentFile().Path()] {
		return raw, nil
	}
	return rewriteObject(raw, func(key string, v []byte) ([]byte, error) {
		fd := md.Fields().ByName(protoreflect.Name(key))
		if fd == nil {
			fd = md.Fields().ByJSONName(key)
		}
		if fd == nil {
			return v, nil
		}
		return numberifyField(v, fd)
	})
}

// wellKnown are the files of the types protojson writes in their own
// shape rather than as an object of fields.
var wellKnown = map[string]bool{
	"google/protobuf/any.proto": true, "google/protobuf/duration.proto": true, "google/protobuf/empty.proto": true,
	"google/protobuf/field_mask.proto": true, "google/protobuf/struct.proto": true, "google/protobuf/timestamp.proto": true,
	"google/protobuf/wrappers.proto": true,
}

func numberifyField(v []byte, fd protoreflect.FieldDescriptor) ([]byte, error) {
	switch {
	case fd.IsList():
		return rewriteArray(v, func(e []byte) ([]byte, error) { return numberifyValue(e, fd) })
	case fd.IsMap():
		return rewriteObject(v, func(_ string, e []byte) ([]byte, error) { return numberifyValue(e, fd.MapValue()) })
	}
	return numberifyValue(v, fd)
}

// numberifyValue rewrites one value of fd's type (an element, for a list).
func numberifyValue(v []byte, fd protoreflect.FieldDescriptor) ([]byte, error) {
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return numberify(v, fd.Message())
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		var s string
		if json.Unmarshal(v, &s) != nil {
			return v, nil
		}
		if n, err := strconv.ParseInt(s, 10, 64); err == nil && n <= maxSafeInt && n >= -maxSafeInt {
			return []byte(strconv.FormatInt(n, 10)), nil
		}
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		var s string
		if json.Unmarshal(v, &s) != nil {
			return v, nil
		}
		if n, err := strconv.ParseUint(s, 10, 64); err == nil && n <= maxSafeInt {
			return []byte(strconv.FormatUint(n, 10)), nil
		}
	}
	return v, nil
}

// rewriteObject re-encodes a JSON object compactly, in its key order, with
// each value passed through f.
func rewriteObject(raw []byte, f func(key string, v []byte) ([]byte, error)) ([]byte, error) {
	if string(bytes.TrimSpace(raw)) == "null" {
		return raw, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := expectDelim(dec, '{'); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.WriteByte('{')
	for i := 0; dec.More(); i++ {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("json: object key %v is not a string", tok)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		nv, err := f(key, v)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			out.WriteByte(',')
		}
		k, _ := json.Marshal(key)
		out.Write(k)
		out.WriteByte(':')
		if err := json.Compact(&out, nv); err != nil {
			return nil, err
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return nil, err
	}
	out.WriteByte('}')
	return out.Bytes(), nil
}

// rewriteArray is rewriteObject for an array.
func rewriteArray(raw []byte, f func(v []byte) ([]byte, error)) ([]byte, error) {
	if string(bytes.TrimSpace(raw)) == "null" {
		return raw, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := expectDelim(dec, '['); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.WriteByte('[')
	for i := 0; dec.More(); i++ {
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		nv, err := f(v)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			out.WriteByte(',')
		}
		if err := json.Compact(&out, nv); err != nil {
			return nil, err
		}
	}
	if err := expectDelim(dec, ']'); err != nil {
		return nil, err
	}
	out.WriteByte(']')
	return out.Bytes(), nil
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("json: got %v, want %v", tok, want)
	}
	return nil
}
