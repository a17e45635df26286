package engine

import (
	"errors"
	"fmt"

	"github.com/volctl/volctl/internal/wire"
)

// Sentinels that the server maps to gRPC codes in one place (server.toStatus).
// Wrap them with context: fmt.Errorf("snapshot %s: %w", name, ErrNotFound).
var (
	// ErrInvalid: bad input, rejected before anything runs.
	ErrInvalid = errors.New("invalid argument")
	// ErrNotFound: no such volume, snapshot or operation.
	ErrNotFound = errors.New("not found")
	// ErrPrecondition: the world is not in a state the request may act on
	// (a running zone without consent, newer snapshots without consent).
	ErrPrecondition = errors.New("failed precondition")
	// ErrAlreadyExists: a snapshot that exists already, or a request id
	// that belongs to another request (another snapshot, other consents).
	ErrAlreadyExists = errors.New("already exists")
	// ErrBusy: another operation holds the volume or zone.
	ErrBusy = errors.New("busy")
	// ErrStepFailed: a platform step failed; the operation says what was
	// restored or what is left.
	ErrStepFailed = errors.New("step failed")
	// ErrNeedsAttention: a step failed and the operation could neither
	// finish nor restore; volctl recover retries it.
	ErrNeedsAttention = errors.New("needs attention")
	// ErrNotCommitted: a step after the point of no return found that the
	// commit step did not take effect after all (a command that exited 0
	// and did nothing). The saga then compensates backwards instead of
	// rolling forward.
	ErrNotCommitted = errors.New("the rollback did not take effect")
	// ErrShuttingDown: the daemon is stopping.
	ErrShuttingDown = errors.New("daemon is shutting down")
	// ErrUnavailable: the host's commands did not answer the capability
	// probes; nothing that builds an argv runs until they do.
	ErrUnavailable = errors.New("unavailable")
	// ErrUnpersisted: an undo restored an LU that is online with its views
	// but no longer in STMF's persistent store (a delete-lu that failed
	// with "resource busy" had removed it first): it would be gone after
	// the next reboot or stmf restart. The operation needs attention, and
	// recover re-persists the LU with the caller's consent.
	ErrUnpersisted = errors.New("LU not persistent")
)

// ErrNeedsConsent: the request lacks a consent the rollback needs
// (destroy_newer, halt_zones, accept_sessions, ...): a failed precondition.
// Capture returns it with the whole identity, so that a dry run still shows
// the plan. Sites wrap NeedsConsent(name), which says which consent is
// missing; errors.Is(err, ErrNeedsConsent) is true for either.
var ErrNeedsConsent error = consentError{}

type consentError struct{}

func (consentError) Error() string { return "needs consent" }

// Is makes errors.Is(err, ErrPrecondition) true.
func (consentError) Is(target error) bool { return target == ErrPrecondition }

// The consents, named as the API's fields name them (RollbackOptions, and
// RecoverOperationRequest for repersist and initialize_hostdata): the server puts the name in the
// status's details, the CLI turns it into its flag. The names are the wire
// contract's (internal/wire).
const (
	ConsentHaltZones      = wire.ConsentHaltZones
	ConsentDestroyNewer   = wire.ConsentDestroyNewer
	ConsentAcceptSessions = wire.ConsentAcceptSessions
	ConsentOnlyTheseDisks = wire.ConsentOnlyTheseDisks
	ConsentSkipPeers      = wire.ConsentSkipPeers
	ConsentRepersist      = wire.ConsentRepersist
	// ConsentInitializeHostdata is only offered, never asked for: see
	// RecoverOptions.
	ConsentInitializeHostdata = wire.ConsentInitializeHostdata
)

// ConsentError is one missing consent. The message that wraps it says why
// the consent is needed; Peer is the peer a skip_peers consent would skip.
type ConsentError struct {
	Consent string
	Peer    string
}

// NeedsConsent is the error for the missing consent name (a Consent*
// constant).
func NeedsConsent(name string) error { return &ConsentError{Consent: name} }

func (e *ConsentError) Error() string { return "needs consent " + e.Consent }

// Is makes errors.Is(err, ErrNeedsConsent) and ErrPrecondition true.
func (e *ConsentError) Is(target error) bool {
	return target == ErrNeedsConsent || target == ErrPrecondition
}

// Consents are the missing consents in err, in order, every branch of a
// joined error included.
func Consents(err error) []*ConsentError {
	var out []*ConsentError
	var walk func(error)
	walk = func(err error) {
		switch e := err.(type) {
		case nil:
		case *ConsentError:
			out = append(out, e)
		case interface{ Unwrap() []error }:
			for _, x := range e.Unwrap() {
				walk(x)
			}
		case interface{ Unwrap() error }:
			walk(e.Unwrap())
		}
	}
	walk(err)
	return out
}

// BusyError names the operation that holds the lock.
type BusyError struct {
	Key    string
	Holder uint64
}

func (e *BusyError) Error() string {
	if e.Holder == 0 {
		return fmt.Sprintf("%s is busy with another request that is being planned", e.Key)
	}
	return fmt.Sprintf("%s is busy with operation %d (volctl op show %d)", e.Key, e.Holder, e.Holder)
}

// Is makes errors.Is(err, ErrBusy) true.
func (e *BusyError) Is(target error) bool { return target == ErrBusy }

// OptionError: rollback options (RollbackOptions fields, by their API
// names) that the request may not set, or not with those values. The
// message that wraps it says why.
type OptionError struct {
	Fields []string
}

// InvalidOptions is the error for options named by their fields.
func InvalidOptions(fields ...string) error { return &OptionError{Fields: fields} }

func (e *OptionError) Error() string { return ErrInvalid.Error() }

// Is makes errors.Is(err, ErrInvalid) true.
func (e *OptionError) Is(target error) bool { return target == ErrInvalid }

// RequestIDError: a request id that belongs to another operation (another
// target, other consents). The message that wraps it says how they differ.
type RequestIDError struct {
	RequestID string
	Op        uint64
}

func (e *RequestIDError) Error() string { return ErrAlreadyExists.Error() }

// Is makes errors.Is(err, ErrAlreadyExists) true.
func (e *RequestIDError) Is(target error) bool { return target == ErrAlreadyExists }

// StepError is a failed step: which step, which operation, what happened.
type StepError struct {
	Op             uint64
	Step           string
	Err            error
	NeedsAttention bool
}

// Error names the operation; the cause already names the step ("step X
// failed: ...", from the journal).
func (e *StepError) Error() string {
	return fmt.Sprintf("operation %d: %v", e.Op, e.Err)
}

// Unwrap exposes the cause.
func (e *StepError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrStepFailed) true.
func (e *StepError) Is(target error) bool {
	return target == ErrStepFailed || (e.NeedsAttention && target == ErrNeedsAttention)
}

// permanent marks an error that retrying will not fix.
type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

// Permanent wraps err so that the roll-forward does not retry it.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanent{err}
}

// IsPermanent reports whether err was marked Permanent.
func IsPermanent(err error) bool {
	var p permanent
	return errors.As(err, &p)
}
