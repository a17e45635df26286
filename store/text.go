package store

import (
	"crypto/sha256"
	"fmt"
	"strings"
	"unicode/utf8"
)

// What the audit trail keeps of each field. A caller chooses the text of a
// request (a 4 MB snapshot name is one gRPC message), so every record is
// capped before it is stored: a denied call costs the journal about a
// kilobyte, whatever was sent.
const (
	// MaxAuditText caps who, role, method, target and result.
	MaxAuditText = 512
	// MaxAuditDetail caps detail (the plan and the identity before and
	// after a rollback, as JSON; tens of KB for a volume with many views).
	MaxAuditDetail = 64 << 10
)

// SafeText returns s as text that is safe to store and to print: valid
// UTF-8, with control characters, invalid bytes and bidirectional overrides
// escaped (`\n`, `\x1b`, `\xff`, `\u202e`), and at most max bytes. Text
// that does not fit is cut at a character boundary and ends with a marker
// giving the original length and the start of its SHA-256, so a cut is never
// silent and two different long texts stay distinguishable:
//
//	pool/vol@aaaa…[cut: 1048576 bytes, sha256 3b2c9d3a51f0e4c7]
//
// max <= 0 means no limit.
func SafeText(s string, max int) string {
	if isSafe(s) && (max <= 0 || len(s) <= max) {
		return s
	}
	var marker string
	if max > 0 {
		sum := sha256.Sum256([]byte(s))
		marker = fmt.Sprintf("…[cut: %d bytes, sha256 %x]", len(s), sum[:8])
	}
	var b strings.Builder
	keep := 0 // the longest prefix that leaves room for the marker
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case needsEscape(r):
			b.WriteString(escapeRune(r))
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
		if max <= 0 {
			continue
		}
		if b.Len() > max {
			return b.String()[:keep] + marker
		}
		if b.Len()+len(marker) <= max {
			keep = b.Len()
		}
	}
	return b.String()
}

func isSafe(s string) bool {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || needsEscape(r) {
			return false
		}
		i += n
	}
	return true
}

// needsEscape: C0 and C1 controls, DEL, and the bidirectional embeddings,
// overrides and isolates that make a terminal show text in another order.
func needsEscape(r rune) bool {
	return r < 0x20 || r == 0x7f || 0x80 <= r && r < 0xa0 ||
		0x202a <= r && r <= 0x202e || 0x2066 <= r && r <= 0x2069
}

func escapeRune(r rune) string {
	switch r {
	case '\n':
		return `\n`
	case '\r':
		return `\r`
	case '\t':
		return `\t`
	}
	if r < 0x80 {
		return fmt.Sprintf(`\x%02x`, r)
	}
	return fmt.Sprintf(`\u%04x`, r)
}

// safeRecord caps and escapes every text field of an audit record.
func safeRecord(r AuditRecord) AuditRecord {
	r.Who = SafeText(r.Who, MaxAuditText)
	r.Role = SafeText(r.Role, MaxAuditText)
	r.Method = SafeText(r.Method, MaxAuditText)
	r.Target = SafeText(r.Target, MaxAuditText)
	r.Result = SafeText(r.Result, MaxAuditText)
	r.Detail = SafeText(r.Detail, MaxAuditDetail)
	return r
}
