package cli

import (
	"io"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/volctl/volctl/client"
	"github.com/volctl/volctl/internal/wire"
	v1 "github.com/volctl/volctl/proto/volctl/v1"
)

// TestConsentFlags: for every consent of the wire contract, the hint
// client.Message adds ("pass --halt-zones to consent") names a flag that
// the command sending that request has (rollback for RollbackOptions,
// recover for RecoverOperationRequest, forget for ForgetRequest): a consent the daemon can ask for
// is one the user can give.
func TestConsentFlags(t *testing.T) {
	commands := []struct {
		msg  protoreflect.MessageDescriptor
		path []string
	}{
		{(&v1.RollbackOptions{}).ProtoReflect().Descriptor(), []string{"rollback"}},
		{(&v1.RecoverOperationRequest{}).ProtoReflect().Descriptor(), []string{"recover"}},
		{(&v1.ForgetRequest{}).ProtoReflect().Descriptor(), []string{"forget"}},
	}
	root := NewCommand(io.Discard, io.Discard)
	for _, consent := range wire.Consents {
		t.Run(consent, func(t *testing.T) {
			var path []string
			for _, c := range commands {
				if c.msg.Fields().ByName(protoreflect.Name(consent)) != nil {
					path = c.path
				}
			}
			if path == nil {
				t.Fatalf("consent %s is a field of no request volctl sends", consent)
			}
			cmd, _, err := root.Find(path)
			if err != nil || cmd.Name() != path[len(path)-1] {
				t.Fatalf("no command volctl %s: %v", strings.Join(path, " "), err)
			}
			for _, md := range []map[string]string{nil, {wire.MetaPeers: "kz-host1,kz-host2"}} {
				msg := client.Message(consentStatus(t, consent, md))
				_, hint, ok := strings.Cut(msg, "; pass ")
				if !ok || !strings.HasSuffix(hint, " to consent") {
					t.Fatalf("Message = %q: no hint for consent %s", msg, consent)
				}
				for _, give := range strings.Split(strings.TrimSuffix(hint, " to consent"), " and ") {
					flag, value, _ := strings.Cut(strings.TrimPrefix(give, "--"), " ")
					f := cmd.Flags().Lookup(flag)
					if f == nil {
						t.Fatalf("Message = %q: volctl %s has no flag --%s", msg, strings.Join(path, " "), flag)
					}
					if (f.Value.Type() == "bool") != (value == "") {
						t.Errorf("Message = %q: flag --%s (%s) given as %q", msg, flag, f.Value.Type(), give)
					}
				}
			}
		})
	}
}

// consentStatus is the status volctld sends for a missing consent (its
// details as the wire contract names them).
func consentStatus(t *testing.T, consent string, md map[string]string) error {
	t.Helper()
	md2 := map[string]string{wire.MetaConsent: consent}
	for k, v := range md {
		md2[k] = v
	}
	st, err := status.New(codes.FailedPrecondition, "needs consent "+consent).WithDetails(
		&errdetails.ErrorInfo{Reason: wire.ReasonConsent, Domain: wire.ErrorDomain, Metadata: md2},
		&errdetails.PreconditionFailure{Violations: []*errdetails.PreconditionFailure_Violation{
			{Type: wire.ConsentViolation, Subject: consent, Description: "d"}}})
	if err != nil {
		t.Fatal(err)
	}
	return st.Err()
}
