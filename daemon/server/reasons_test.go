package server

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/status"

	"github.com/volctl/volctl/client"
	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/internal/wire"
)

// TestReasonsAreTheContract: the reasons toStatus sends over every case of
// toStatusCases (which TestToStatusCoversSentinels keeps complete) are
// exactly wire.Reasons: none sent that the contract lacks, none in the
// contract that nothing sends. Every detail names the contract's domain,
// violation type and consents.
func TestReasonsAreTheContract(t *testing.T) {
	sent := map[string]string{} // reason -> a case that sends it
	for _, tc := range toStatusCases {
		for _, d := range status.Convert(toStatus(tc.err)).Details() {
			switch d := d.(type) {
			case *errdetails.ErrorInfo:
				if d.GetDomain() != wire.ErrorDomain {
					t.Errorf("%s: domain %q, want %q", tc.name, d.GetDomain(), wire.ErrorDomain)
				}
				if !slices.Contains(wire.Reasons, d.GetReason()) {
					t.Errorf("%s: toStatus sends reason %q, which is not in wire.Reasons", tc.name, d.GetReason())
				}
				sent[d.GetReason()] = tc.name
			case *errdetails.PreconditionFailure:
				for _, v := range d.GetViolations() {
					if v.GetType() != wire.ConsentViolation || !slices.Contains(wire.Consents, v.GetSubject()) {
						t.Errorf("%s: violation %s/%s is not a consent of the contract", tc.name, v.GetType(), v.GetSubject())
					}
				}
			}
		}
	}
	for _, r := range wire.Reasons {
		if _, ok := sent[r]; !ok {
			t.Errorf("wire.Reasons has %s, but no case of toStatusCases is sent with it", r)
		}
	}
}

// TestConsentsReachTheWire: each consent the engine can ask for goes out
// as a PreconditionFailure naming it, and in the ErrorInfo's metadata; the
// client turns it into a flag to pass (client/cli's TestConsentFlags
// checks the flag is volctl's).
func TestConsentsReachTheWire(t *testing.T) {
	for _, c := range wire.Consents {
		err := toStatus(fmt.Errorf("why: %w", engine.NeedsConsent(c)))
		if msg := client.Message(err); !strings.Contains(msg, "; pass --") || !strings.HasSuffix(msg, " to consent") {
			t.Errorf("consent %s: client.Message = %q, no flag to pass", c, msg)
		}
		st := status.Convert(err)
		var subjects []string
		var md map[string]string
		for _, d := range st.Details() {
			switch d := d.(type) {
			case *errdetails.PreconditionFailure:
				for _, v := range d.GetViolations() {
					subjects = append(subjects, v.GetType()+"/"+v.GetSubject())
				}
			case *errdetails.ErrorInfo:
				md = d.GetMetadata()
			}
		}
		if want := []string{wire.ConsentViolation + "/" + c}; !slices.Equal(subjects, want) {
			t.Errorf("consent %s: violations %v, want %v", c, subjects, want)
		}
		if md[wire.MetaConsent] != c {
			t.Errorf("consent %s: metadata %v", c, md)
		}
	}
}
