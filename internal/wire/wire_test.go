package wire_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/volctl/volctl/internal/wire"
	v1 "github.com/volctl/volctl/proto/volctl/v1"
)

// constants reads wire.go's string constants whose names begin with
// prefix: name -> value.
func constants(t *testing.T, prefix string) map[string]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "wire.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok {
			return true
		}
		for i, name := range vs.Names {
			if !strings.HasPrefix(name.Name, prefix) || i >= len(vs.Values) {
				continue
			}
			lit, ok := vs.Values[i].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				continue
			}
			v, err := strconv.Unquote(lit.Value)
			if err != nil {
				t.Fatal(err)
			}
			out[name.Name] = v
		}
		return true
	})
	if len(out) == 0 {
		t.Fatalf("no constants %s* in wire.go", prefix)
	}
	return out
}

// TestReasons: Reasons lists every Reason* constant once, each stable
// UPPER_SNAKE (the server's and the client's tests range over Reasons).
func TestReasons(t *testing.T) {
	consts := constants(t, "Reason")
	upperSnake := regexp.MustCompile(`^[A-Z]+(_[A-Z]+)*$`)
	for name, v := range consts {
		if !slices.Contains(wire.Reasons, v) {
			t.Errorf("%s (%q) is not in Reasons", name, v)
		}
	}
	seen := map[string]bool{}
	for _, r := range wire.Reasons {
		if seen[r] {
			t.Errorf("reason %q is in Reasons twice", r)
		}
		seen[r] = true
		if !upperSnake.MatchString(r) {
			t.Errorf("reason %q is not UPPER_SNAKE", r)
		}
	}
	if len(wire.Reasons) != len(consts) {
		t.Errorf("Reasons has %d entries, wire.go %d Reason constants", len(wire.Reasons), len(consts))
	}
}

// TestConsentsAreFields: Consents lists every Consent* constant once, and
// each is a field of the request that consents (RollbackOptions,
// RecoverOperationRequest for repersist and initialize_hostdata, or
// ForgetRequest for destroy_kept), as the API names it.
func TestConsentsAreFields(t *testing.T) {
	consts := constants(t, "Consent")
	delete(consts, "ConsentViolation") // the violation type, not a consent
	for name, v := range consts {
		if !slices.Contains(wire.Consents, v) {
			t.Errorf("%s (%q) is not in Consents", name, v)
		}
	}
	if len(wire.Consents) != len(consts) {
		t.Errorf("Consents has %d entries, wire.go %d consent constants", len(wire.Consents), len(consts))
	}
	holders := []protoreflect.MessageDescriptor{
		(&v1.RollbackOptions{}).ProtoReflect().Descriptor(),
		(&v1.RecoverOperationRequest{}).ProtoReflect().Descriptor(),
		(&v1.ForgetRequest{}).ProtoReflect().Descriptor(),
	}
	seen := map[string]bool{}
	for _, c := range wire.Consents {
		if seen[c] {
			t.Errorf("consent %q is in Consents twice", c)
		}
		seen[c] = true
		found := false
		for _, md := range holders {
			if md.Fields().ByName(protoreflect.Name(c)) != nil {
				found = true
			}
		}
		if !found {
			t.Errorf("consent %q is no field of RollbackOptions, RecoverOperationRequest or ForgetRequest", c)
		}
	}
	// A refused option's BadRequest field is RollbackRequest.options.NAME.
	opts := (&v1.RollbackRequest{}).ProtoReflect().Descriptor().Fields().ByName(protoreflect.Name(strings.TrimSuffix(wire.OptionsPrefix, ".")))
	if opts == nil || opts.Message() == nil || opts.Message().FullName() != (&v1.RollbackOptions{}).ProtoReflect().Descriptor().FullName() {
		t.Errorf("OptionsPrefix %q is not RollbackRequest's RollbackOptions field", wire.OptionsPrefix)
	}
}
