package server

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/zonehost"
	"github.com/volctl/volctl/internal/wire"
	"github.com/volctl/volctl/store"
)

// toStatus is the one place errors become gRPC status codes. The message
// keeps the whole wrapped chain: the step, the command and what the platform
// said. The details say the same for programs: an ErrorInfo with the reason
// and what it concerns, for a missing consent a PreconditionFailure naming
// each consent, for options refused a BadRequest naming their fields.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	code, reason := codes.Internal, ""
	switch {
	case errors.Is(err, ErrUnidentified):
		code, reason = codes.Unauthenticated, wire.ReasonUnauthenticated
	case errors.Is(err, ErrDenied):
		code, reason = codes.PermissionDenied, wire.ReasonDenied
	case errors.Is(err, engine.ErrInvalid), errors.Is(err, zonehost.ErrInvalid):
		code, reason = codes.InvalidArgument, wire.ReasonInvalid
	case errors.Is(err, store.ErrCorrupt):
		code, reason = codes.DataLoss, wire.ReasonJournalCorrupt
	case errors.Is(err, engine.ErrNotFound), errors.Is(err, store.ErrNotFound):
		code, reason = codes.NotFound, wire.ReasonNotFound
	case errors.As(err, new(*engine.HeldError)):
		code, reason = codes.FailedPrecondition, wire.ReasonHeld
	case errors.Is(err, engine.ErrNeedsConsent):
		code, reason = codes.FailedPrecondition, wire.ReasonConsent
	case errors.Is(err, engine.ErrPrecondition):
		code, reason = codes.FailedPrecondition, wire.ReasonPrecondition
	case errors.Is(err, engine.ErrAlreadyExists):
		code, reason = codes.AlreadyExists, wire.ReasonAlreadyExists
		var r *engine.RequestIDError
		if errors.As(err, &r) {
			reason = wire.ReasonRequestIDReused
		}
	case errors.Is(err, engine.ErrBusy):
		code, reason = codes.Aborted, wire.ReasonBusy
	case errors.Is(err, engine.ErrShuttingDown):
		code, reason = codes.Unavailable, wire.ReasonShuttingDown
	case errors.Is(err, engine.ErrUnavailable):
		code, reason = codes.Unavailable, wire.ReasonHostUnavailable
	case errors.Is(err, engine.ErrNeedsAttention):
		code, reason = codes.Internal, wire.ReasonNeedsAttention
	case errors.Is(err, engine.ErrStepFailed):
		code, reason = codes.Aborted, wire.ReasonStepFailed
	case errors.Is(err, ErrTooManyWatches):
		code, reason = codes.ResourceExhausted, wire.ReasonTooManyWatches
	case errors.Is(err, engine.ErrFellBehind):
		code, reason = codes.ResourceExhausted, wire.ReasonFellBehind
	case errors.Is(err, context.DeadlineExceeded):
		code = codes.DeadlineExceeded
	case errors.Is(err, context.Canceled):
		code = codes.Canceled
	}
	st := status.New(code, err.Error())
	if reason == "" {
		return st.Err()
	}
	details := []protoadapt.MessageV1{&errdetails.ErrorInfo{Reason: reason, Domain: wire.ErrorDomain, Metadata: metadata(err)}}
	if cs := engine.Consents(err); len(cs) > 0 {
		pf := &errdetails.PreconditionFailure{}
		for _, c := range cs {
			pf.Violations = append(pf.Violations, &errdetails.PreconditionFailure_Violation{
				Type: wire.ConsentViolation, Subject: c.Consent, Description: consentWords(c)})
		}
		details = append(details, pf)
	}
	var opt *engine.OptionError
	if errors.As(err, &opt) {
		br := &errdetails.BadRequest{}
		for _, f := range opt.Fields {
			br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{
				Field: wire.OptionsPrefix + f, Description: "not allowed here; the message says why"})
		}
		details = append(details, br)
	}
	if withDetails, derr := st.WithDetails(details...); derr == nil {
		st = withDetails
	}
	return st.Err()
}

// metadata is what the ErrorInfo says the error concerns: the consents
// missing, the operation and the volume or zone, the request id.
func metadata(err error) map[string]string {
	md := map[string]string{}
	if cs := engine.Consents(err); len(cs) > 0 {
		var names, peers []string
		for _, c := range cs {
			if !slices.Contains(names, c.Consent) {
				names = append(names, c.Consent)
			}
			if c.Peer != "" {
				peers = append(peers, c.Peer)
			}
		}
		md[wire.MetaConsent] = strings.Join(names, ",")
		if len(peers) > 0 {
			md[wire.MetaPeers] = strings.Join(peers, ",")
		}
	}
	var busy *engine.BusyError
	if errors.As(err, &busy) {
		if busy.Holder != 0 {
			md[wire.MetaOperation] = strconv.FormatUint(busy.Holder, 10)
		}
		if kind, name, ok := strings.Cut(busy.Key, " "); ok && (kind == "volume" || kind == "zone") {
			md[kind] = name
		}
	}
	var held *engine.HeldError
	if errors.As(err, &held) {
		md[wire.MetaOperation] = strconv.FormatUint(held.Op, 10)
		if held.Zone != "" {
			md[wire.MetaZone] = held.Zone
			if held.Host != "" {
				md[wire.MetaHost] = held.Host
			}
		} else {
			md[wire.MetaVolume] = held.Volume
		}
	}
	var reused *engine.RequestIDError
	if errors.As(err, &reused) {
		if reused.Op != 0 { // 0: the id's request is still being planned
			md[wire.MetaOperation] = strconv.FormatUint(reused.Op, 10)
		}
		md[wire.MetaRequestID] = reused.RequestID
	}
	var step *engine.StepError
	if errors.As(err, &step) {
		md[wire.MetaOperation] = strconv.FormatUint(step.Op, 10)
		md[wire.MetaStep] = step.Step
	}
	if len(md) == 0 {
		return nil
	}
	return md
}

// consentWords is a violation's description.
func consentWords(c *engine.ConsentError) string {
	if c.Peer != "" {
		return "peer " + c.Peer + " did not answer; skip_peers goes on without it"
	}
	return "the request needs consent " + c.Consent
}
