package tgt

import (
	"bytes"
	"strings"
)

// Errno is a tgtadm error as far as its stderr tells: tgtadm exits 22 for
// every daemon error (docs/platform/linux-tgt.md §2.1), so the text is all
// there is.
type Errno int

// tgtadm error kinds (docs/platform/linux-tgt.md §2.2, §2.3).
const (
	ErrnoNone Errno = iota
	ErrnoUnknown
	ErrnoNoDriver
	ErrnoNoTarget
	ErrnoNoLUN
	ErrnoNoSession
	ErrnoNoConnection
	ErrnoNoBinding
	ErrnoTargetExists
	ErrnoBindingExists
	ErrnoLUNExists
	ErrnoACLExists
	ErrnoACLNotExist
	ErrnoUserExists
	ErrnoNoUser
	ErrnoInvalidRequest
	ErrnoTargetActive
	ErrnoLUNActive
	ErrnoDriverActive
	ErrnoUnsupported
	ErrnoUnknownParam
	ErrnoPreventRemoval
	ErrnoNotConnected // tgtd not reachable (exit 107)
	ErrnoUsage        // client-side option check
)

var errnoText = []struct {
	e    Errno
	text string
}{
	{ErrnoNoDriver, "can't find the driver"},
	{ErrnoNoTarget, "can't find the target"},
	{ErrnoNoLUN, "can't find the logical unit"},
	{ErrnoNoSession, "can't find the session"},
	{ErrnoNoConnection, "can't find the connection"},
	{ErrnoNoBinding, "can't find the binding"},
	{ErrnoTargetExists, "this target already exists"},
	{ErrnoBindingExists, "this binding already exists"},
	{ErrnoLUNExists, "this logical unit number already exists"},
	{ErrnoACLExists, "this access control rule already exists"},
	{ErrnoACLNotExist, "this access control rule does not exist"},
	{ErrnoUserExists, "this account already exists"},
	{ErrnoNoUser, "can't find the account"},
	{ErrnoInvalidRequest, "invalid request"},
	{ErrnoTargetActive, "this target is still active"},
	{ErrnoLUNActive, "this logical unit is still active"},
	{ErrnoDriverActive, "this driver is busy"},
	{ErrnoUnsupported, "this operation isn't supported"},
	{ErrnoUnknownParam, "unknown parameter"},
	{ErrnoPreventRemoval, "this device has Prevent Removal set"},
	{ErrnoNotConnected, "failed to send request hdr to tgt daemon"},
	{ErrnoNotConnected, "Transport endpoint is not connected"},
	{ErrnoNotConnected, "Connection refused"},
}

// usageText are the client-side validation messages
// (docs/platform/linux-tgt.md §2.3).
var usageText = []string{
	"'tid' cannot be 0", "'tid' option is necessary", "'tid' must not be 0",
	"creating new target requires a name", "'lun' option is necessary",
	"'backing-store' option is necessary", "operation requires initiator-address",
	"not supported in", "is not allowed/supported", "update operation requires",
	"'user' option is necessary", "specify the operation type", "specify the mode",
	"unknown mode:", "unknown operation:",
}

// Classify maps tgtadm's stderr to an Errno: ErrnoNone for empty stderr,
// ErrnoUnknown for text it does not know.
func Classify(stderr []byte) Errno {
	s := strings.TrimSpace(string(stderr))
	if s == "" {
		return ErrnoNone
	}
	for _, t := range errnoText {
		if strings.Contains(s, t.text) {
			return t.e
		}
	}
	for _, t := range usageText {
		if strings.Contains(s, t) {
			return ErrnoUsage
		}
	}
	return ErrnoUnknown
}

// IsNoTarget reports "can't find the target".
func IsNoTarget(stderr []byte) bool { return Classify(stderr) == ErrnoNoTarget }

// IsNoLUN reports "can't find the logical unit".
func IsNoLUN(stderr []byte) bool { return Classify(stderr) == ErrnoNoLUN }

// IsLUNExists reports "this logical unit number already exists".
func IsLUNExists(stderr []byte) bool { return Classify(stderr) == ErrnoLUNExists }

// IsLUNActive reports "this logical unit is still active": SCSI commands in
// flight; transient (docs/platform/linux-tgt.md §4.4).
func IsLUNActive(stderr []byte) bool { return Classify(stderr) == ErrnoLUNActive }

// IsACLExists reports "this access control rule already exists".
func IsACLExists(stderr []byte) bool { return Classify(stderr) == ErrnoACLExists }

// IsACLNotExist reports "this access control rule does not exist".
func IsACLNotExist(stderr []byte) bool { return Classify(stderr) == ErrnoACLNotExist }

// IsNoSession reports "can't find the session" (a connection already gone).
func IsNoSession(stderr []byte) bool { return Classify(stderr) == ErrnoNoSession }

// IsNotConnected reports that tgtd did not answer (wrong control port, not
// running).
func IsNotConnected(stderr []byte) bool {
	return bytes.Contains(stderr, []byte("failed to send request hdr")) || Classify(stderr) == ErrnoNotConnected
}

// String names the kind.
func (e Errno) String() string {
	switch e {
	case ErrnoNone:
		return "none"
	case ErrnoUnknown:
		return "unknown"
	case ErrnoUsage:
		return "usage"
	}
	for _, t := range errnoText {
		if t.e == e {
			return t.text
		}
	}
	return "unknown"
}
