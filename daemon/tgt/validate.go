package tgt

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// ErrInvalid is wrapped by every validation error in this package.
var ErrInvalid = errors.New("invalid")

// MaxNameLen is the longest iSCSI name (RFC 3720 §3.2.6.1: 223 bytes).
const MaxNameLen = 223

// ValidateIQN checks an iSCSI name as volctl passes it to tgtadm (-T,
// --initiator-name): one of
//
//	iqn.YYYY-MM.<reversed domain>[:<anything>]   (RFC 3720 §3.2.6.3.1)
//	eui.<16 hex digits>                          (§3.2.6.3.2)
//	naa.<16 or 32 hex digits>                    (RFC 3980)
//
// at most 223 bytes, of lower-case letters, digits, '-', '.' and ':' only
// (the stringprep'd form RFC 3722 requires; tgtd compares names byte for
// byte, so an upper-case name would never match what an initiator sends).
func ValidateIQN(name string) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w iSCSI name %q: %s", ErrInvalid, name, fmt.Sprintf(format, a...))
	}
	if name == "" {
		return bad("empty")
	}
	if len(name) > MaxNameLen {
		return bad("longer than %d bytes", MaxNameLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == ':') {
			return bad("invalid character %q (lower-case letters, digits, '-', '.', ':' only)", c)
		}
	}
	switch {
	case strings.HasPrefix(name, "iqn."):
		rest := name[4:]
		if len(rest) < 8 || rest[4] != '-' || !digits(rest[:4]) || !digits(rest[5:7]) || rest[7] != '.' {
			return bad("want iqn.YYYY-MM.<reversed domain>[:<name>]")
		}
		if m := (rest[5]-'0')*10 + rest[6] - '0'; m < 1 || m > 12 {
			return bad("month %s out of range", rest[5:7])
		}
		auth, _, _ := strings.Cut(rest[8:], ":")
		if auth == "" || strings.HasPrefix(auth, ".") || strings.HasSuffix(auth, ".") || strings.Contains(auth, "..") {
			return bad("empty or malformed naming authority")
		}
		return nil
	case strings.HasPrefix(name, "eui."):
		if len(name) != 20 || !hex(name[4:]) {
			return bad("want eui. and 16 hex digits")
		}
		return nil
	case strings.HasPrefix(name, "naa."):
		if (len(name) != 20 && len(name) != 36) || !hex(name[4:]) {
			return bad("want naa. and 16 or 32 hex digits")
		}
		return nil
	}
	return bad("must start with iqn., eui. or naa.")
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func hex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return s != ""
}

// ClassifyACL tells by content whether an ACL line is an initiator-name rule
// or an address rule (docs/platform/linux-tgt.md §3.2: the position does not
// say). Names start with iqn., eui. or naa. (any case); everything else,
// including "ALL" and text tgtd accepted with -I without checking
// ("not-an-address", linux-tgt.md §5.1), is an address rule. ParseTargets
// refines this with tgtd's order: every line after a name rule is a name rule
// too.
func ClassifyACL(rule string) ACLKind {
	l := strings.ToLower(rule)
	if strings.HasPrefix(l, "iqn.") || strings.HasPrefix(l, "eui.") || strings.HasPrefix(l, "naa.") {
		return ACLName
	}
	return ACLAddress
}

// ValidAddressRule reports whether an address rule can ever match at login:
// "ALL", or an IPv4/IPv6 literal (IPv6 optionally in brackets) with an
// optional /prefix (docs/platform/linux-tgt.md §5.1; tgtd itself accepts
// anything).
func ValidAddressRule(rule string) bool {
	if rule == "ALL" {
		return true
	}
	addr, bits, hasBits := strings.Cut(rule, "/")
	if strings.HasPrefix(addr, "[") && strings.HasSuffix(addr, "]") {
		addr = addr[1 : len(addr)-1]
	}
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return false
	}
	if hasBits {
		_, err := netip.ParsePrefix(a.String() + "/" + bits)
		return err == nil
	}
	return true
}

// Limits of the identity values tgtd keeps (docs/platform/linux-tgt.md §4.2):
// longer values are truncated silently, so volctl refuses them instead.
const (
	MaxSCSIID     = 36
	MaxSCSISN     = 36
	MaxVendorID   = 8
	MaxProductID  = 16
	MaxProductRev = 4
)

// ValidateParam checks one --params value: non-empty (tgtd refuses
// "scsi_sn="), no ',' (the list separator) or '=' in a way that would split
// differently, no control characters, and within max bytes.
func ValidateParam(key, value string, max int) error {
	switch {
	case value == "":
		return fmt.Errorf("%w %s: empty value (tgtd refuses it)", ErrInvalid, key)
	case strings.ContainsAny(value, ","):
		return fmt.Errorf("%w %s %q: a ',' cannot be passed through tgtadm --params", ErrInvalid, key, value)
	case max > 0 && len(value) > max:
		return fmt.Errorf("%w %s %q: longer than %d bytes (tgtd would truncate it)", ErrInvalid, key, value, max)
	}
	for _, r := range value {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%w %s %q: control character", ErrInvalid, key, value)
		}
	}
	return nil
}
