package sim

import (
	"fmt"
	"strings"
)

// zfsNameProblem returns the zfs_namecheck reason why name is not a valid
// dataset name ("" if valid). snapshot says whether an '@' is required
// (true) or forbidden (false).
func zfsNameProblem(name string, snapshot bool) string {
	if len(name) >= 256 {
		return "name is too long"
	}
	if name == "" {
		return "empty component in name"
	}
	if name[0] == '/' {
		return "leading slash in name"
	}
	delims := strings.Count(name, "@") + strings.Count(name, "#")
	if delims > 1 {
		return "multiple '@' and/or '#' delimiters in name"
	}
	seenDelim := false
	loc := name
	for {
		end := strings.IndexAny(loc, "/@#")
		if end < 0 {
			end = len(loc)
		}
		comp := loc[:end]
		if comp == "" {
			return "empty component in name"
		}
		for i := 0; i < len(comp); i++ {
			if !validNameChar(comp[i]) {
				return fmt.Sprintf("invalid character '%c' in name", comp[i])
			}
		}
		if end == len(loc) {
			break
		}
		d := loc[end]
		if d == '/' && seenDelim {
			return "trailing slash in name"
		}
		if d == '@' || d == '#' {
			seenDelim = true
		}
		loc = loc[end+1:]
		if loc == "" {
			if d == '/' {
				return "trailing slash in name"
			}
			return "empty component in name"
		}
	}
	if strings.Contains(name, "#") {
		return "bookmark delimiter '#' is not expected here"
	}
	has := strings.Contains(name, "@")
	if snapshot && !has {
		return "missing '@' delimiter in snapshot name"
	}
	if !snapshot && has {
		return "snapshot delimiter '@' is not expected here"
	}
	return ""
}

// validNameChar is zfs_namecheck's valid_char, including space as in
// Solaris 11 and modern illumos.
func validNameChar(c byte) bool {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		c == '-' || c == '_' || c == '.' || c == ':' || c == ' '
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) {
			return false
		}
	}
	return true
}

// isGUID reports whether s is exactly 32 hex digits.
func isGUID(s string) bool { return len(s) == 32 && isHex(s) }
