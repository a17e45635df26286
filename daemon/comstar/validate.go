package comstar

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalid is wrapped by every validation error in this package.
var ErrInvalid = errors.New("invalid")

// ValidateGUID checks that s is exactly 32 hexadecimal digits (either case),
// the form stmfadm requires for LU names (docs/platform/comstar.md §1.3).
func ValidateGUID(s string) error {
	if len(s) != 32 {
		return fmt.Errorf("%w GUID %q: must be 32 hexadecimal digits long", ErrInvalid, s)
	}
	for i := 0; i < len(s); i++ {
		if !isHex(s[i]) {
			return fmt.Errorf("%w GUID %q: non-hexadecimal character %q", ErrInvalid, s, s[i])
		}
	}
	return nil
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// NormalizeGUID returns s in upper case, the form create-lu, import-lu and
// list-lu print. delete-lu, list-view and sbdadm print lower case
// (docs/platform/comstar.md §1.3), so compare GUIDs only after normalising
// both sides.
func NormalizeGUID(s string) string { return strings.ToUpper(s) }

// MaxGroupNameLen is the longest host/target group name volctl accepts:
// cmdparse rejects option arguments longer than 256 bytes ("option too long",
// docs/platform/comstar.md §1.1, §6), and create-hg silently truncates its
// operand to sizeof(stmfGroupName)-1 = 255 bytes (illumos stmfadm.c
// createHostGroupFunc).
const MaxGroupNameLen = 255

// ValidateGroupName checks a host or target group name before volctl passes it
// to stmfadm (create-hg, add-view -h/-t, add-hg-member -g).
//
// stmfadm itself accepts nearly any string, so this rule is volctl's own,
// chosen so a name survives argv, logs and list-view output unchanged:
//   - 1 to 255 bytes (see MaxGroupNameLen);
//   - printable ASCII only: no control characters, whitespace or non-ASCII,
//     which list-hg output would not round-trip reliably;
//   - none of the shell/quoting characters ` ~ ! # $ & * ( ) \ | [ ] { } ; ' " < > ?
//     so a name pasted into a shell or a log cannot run or split anything,
//     and '|' keeps View.Key unambiguous;
//   - no leading '-', which getopt would take as an option;
//   - not "All", which list-view prints for "all groups" (comstar.md §5.2),
//     so a group of that name could not be told from the wildcard.
func ValidateGroupName(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("%w group name: empty", ErrInvalid)
	case len(s) > MaxGroupNameLen:
		return fmt.Errorf("%w group name: %d bytes, longer than %d", ErrInvalid, len(s), MaxGroupNameLen)
	case s[0] == '-':
		return fmt.Errorf("%w group name %q: must not start with '-'", ErrInvalid, s)
	case s == "All":
		return fmt.Errorf("%w group name %q: reserved, list-view shows it for all groups", ErrInvalid, s)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f {
			return fmt.Errorf("%w group name %q: control, space or non-ASCII byte %q", ErrInvalid, s, c)
		}
		if strings.IndexByte("`~!#$&*()\\|[]{};'\"<>?", c) >= 0 {
			return fmt.Errorf("%w group name %q: character %q not allowed", ErrInvalid, s, c)
		}
	}
	return nil
}
