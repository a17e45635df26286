// Package wire holds the names volctld and its clients agree on that the
// generated API code does not carry: the error details' domain, reasons
// and metadata keys, and the consents (named as the API's fields). The
// daemon writes them (daemon/server toStatus, daemon/engine's consents),
// the client reads them back (client.Message); neither types them again.
//
// It imports nothing, so the CLI links no daemon code through it and the
// engine no API code. The peer link's conversions (zone verbs, command
// records) need daemon types and sit in daemon/peerwire.
package wire

// ErrorDomain is the domain of every ErrorInfo volctld sends (AIP-193).
const ErrorDomain = "volctl.io"

// The ErrorInfo reasons: stable, UPPER_SNAKE, for programs to act on (the
// message is for people and may change). README.md lists them; Reasons is
// every one.
const (
	ReasonUnauthenticated = "UNAUTHENTICATED"
	ReasonDenied          = "PERMISSION_DENIED"
	ReasonInvalid         = "INVALID_ARGUMENT"
	ReasonJournalCorrupt  = "JOURNAL_CORRUPT"
	ReasonNotFound        = "NOT_FOUND"
	ReasonConsent         = "CONSENT_REQUIRED"
	ReasonPrecondition    = "FAILED_PRECONDITION"
	ReasonRequestIDReused = "REQUEST_ID_REUSED"
	ReasonAlreadyExists   = "ALREADY_EXISTS"
	ReasonBusy            = "BUSY"
	ReasonShuttingDown    = "SHUTTING_DOWN"
	ReasonHostUnavailable = "HOST_UNAVAILABLE"
	ReasonNeedsAttention  = "NEEDS_ATTENTION"
	ReasonStepFailed      = "STEP_FAILED"
	// ReasonHeld: the request touches a volume or zone that an operation
	// which needs attention holds (engine.HeldError); nothing ran.
	ReasonHeld = "HELD_BY_OPERATION"
	// ReasonTooManyWatches: a WatchOperation past
	// max_watches_per_connection or max_watches_per_caller.
	ReasonTooManyWatches = "TOO_MANY_WATCHES"
	// ReasonFellBehind: a watcher whose client did not read its stream
	// was dropped; the operation goes on.
	ReasonFellBehind = "FELL_BEHIND"
)

// Reasons is every reason volctld sends, in the order above. The server's
// tests map an error to each, and fail on a reason sent that is not here.
var Reasons = []string{
	ReasonUnauthenticated, ReasonDenied, ReasonInvalid, ReasonJournalCorrupt, ReasonNotFound,
	ReasonConsent, ReasonPrecondition, ReasonRequestIDReused, ReasonAlreadyExists, ReasonBusy,
	ReasonShuttingDown, ReasonHostUnavailable, ReasonNeedsAttention, ReasonStepFailed, ReasonHeld,
	ReasonTooManyWatches, ReasonFellBehind,
}

// The ErrorInfo metadata keys: what an error concerns.
const (
	// MetaConsent is the missing consents, comma-separated.
	MetaConsent = "consent"
	// MetaPeers is the peers a skip_peers consent would skip,
	// comma-separated.
	MetaPeers     = "peers"
	MetaOperation = "operation"
	MetaVolume    = "volume"
	MetaZone      = "zone"
	// MetaHost is the peer that has the zone (a held zone on a zone host).
	MetaHost      = "host"
	MetaRequestID = "request_id"
	MetaStep      = "step"
)

// ConsentViolation is the PreconditionFailure violation type of a missing
// consent; its subject is the consent's name (Consent*).
const ConsentViolation = "CONSENT"

// The consents, named as the API's fields name them (RollbackOptions,
// RecoverOperationRequest for repersist and initialize_hostdata, and
// ForgetRequest for destroy_kept): the
// engine refuses with the name, the server puts it in the status's
// details, the CLI turns it into its flag. initialize_hostdata is never
// missing: recover offers it where an attach kept the snapshot's host
// data and the zone would not take it (daemon/solaris attachZones).
const (
	ConsentHaltZones      = "halt_zones"
	ConsentDestroyNewer   = "destroy_newer"
	ConsentAcceptSessions = "accept_sessions"
	ConsentOnlyTheseDisks = "only_these_disks"
	ConsentSkipPeers      = "skip_peers"
	ConsentRepersist      = "repersist"
	// ConsentInitializeHostdata: recover may attach a kernel zone of an
	// operation rolled back with keep_hostdata with fresh host data.
	ConsentInitializeHostdata = "initialize_hostdata"
	// ConsentDestroyKept: forget may destroy an operation's kept datasets
	// (ForgetRequest.destroy_kept; docs/keep.md).
	ConsentDestroyKept = "destroy_kept"
)

// Consents is every consent, in the order above. The client's tests give
// each to client.Message and check the flag it names.
var Consents = []string{
	ConsentHaltZones, ConsentDestroyNewer, ConsentAcceptSessions, ConsentOnlyTheseDisks,
	ConsentSkipPeers, ConsentRepersist, ConsentInitializeHostdata, ConsentDestroyKept,
}

// OptionsPrefix begins the BadRequest field path of a refused option: the
// RollbackOptions field NAME is "options.NAME".
const OptionsPrefix = "options."
