package comstar

import (
	"fmt"
	"slices"
	"strings"
)

// What `stmfadm list-lu -v` prints in place of a property it could not read
// (printExtLuProps; docs/platform/comstar-lu.md §1).
const (
	// PrintedNotSet: the LU has no such property (STMF_ERROR_NO_PROP).
	PrintedNotSet = notSet
	// PrintedStandby: the LU is not Active on this node, so sbd gives none
	// of its properties (STMF_ERROR_NO_PROP_STANDBY).
	PrintedStandby = unavailStandby
	// PrintedError: reading the property failed.
	PrintedError = errRetrievingVal
)

// AccessActive is the only access state in which an LU's properties can be
// read, and the only one volctl acts on.
const AccessActive = "Active"

// Unread is a property `list-lu -v` did not give volctl as a value.
type Unread struct {
	Label   string // as stmfadm prints it: "Data File", "Access State", ...
	Printed string // what it printed instead of a value
	Missing bool   // no line at all for the property
}

func (u Unread) String() string {
	if u.Missing {
		return fmt.Sprintf("no %q line", u.Label)
	}
	return fmt.Sprintf("%s: %q", u.Label, u.Printed)
}

// Unreads puts problems in a message, the properties that printed the
// same text together: `Data File, Size: "prop unavailable in standby";
// Access State: "Standby"`; missing lines as `no line for Size`.
func Unreads(us []Unread) string {
	var keys []string
	labels := map[string][]string{}
	for _, u := range us {
		key := "printed " + u.Printed
		if u.Missing {
			key = "missing"
		}
		if _, ok := labels[key]; !ok {
			keys = append(keys, key)
		}
		labels[key] = append(labels[key], u.Label)
	}
	parts := make([]string, len(keys))
	for i, k := range keys {
		if k == "missing" {
			parts[i] = "no line for " + strings.Join(labels[k], ", ")
			continue
		}
		parts[i] = fmt.Sprintf("%s: %q", strings.Join(labels[k], ", "), strings.TrimPrefix(k, "printed "))
	}
	return strings.Join(parts, "; ")
}

// Standby reports whether us says the LU is not Active on this node (an
// access state other than Active, or properties unavailable in standby).
func Standby(us []Unread) bool {
	for _, u := range us {
		if u.Printed == PrintedStandby || (u.Label == "Access State" && !u.Missing && u.Printed != PrintedError && u.Printed != PrintedNotSet) {
			return true
		}
	}
	return false
}

// restored are the properties volctl gives back to an LU (import-lu checks
// them, create-lu writes them, verify compares them): each must be printed
// as a value. optional may print "not set" (no such property) as well.
var (
	restored = []string{"Alias", "Data File", "Size", "Block Size", "Vendor ID", "Product ID", "Write Protect", "Writeback Cache"}
	optional = []string{"Meta File", "Management URL", "Serial Num"}
)

// UnreadDataFile is the LU's data file when `list-lu -v` did not print it
// as a value, or nil. Only for a registered LU from verbose output: such an
// LU may be on any volume, the one being rolled back included.
func (lu LU) UnreadDataFile() *Unread {
	if !lu.Registered {
		return nil
	}
	v, ok := lu.Printed["Data File"]
	switch {
	case !ok:
		return &Unread{Label: "Data File", Missing: true}
	case absent(v):
		return &Unread{Label: "Data File", Printed: v}
	}
	return nil
}

// UnreadIdentity lists what keeps volctl from knowing a registered LU
// exactly, in the order stmfadm prints it: a property it restores that was
// not printed as a value, an optional one that printed an error or
// "unavailable in standby", an unexpected Write Protect / Writeback Cache
// word, and an access state other than Active. A missing Access State line
// is not listed: a non-Active LU cannot print its data file (getDiskProp,
// docs/platform/comstar-lu.md §1), so UnreadDataFile catches it whatever
// the platform prints for the access state.
func (lu LU) UnreadIdentity() []Unread {
	if !lu.Registered {
		return nil
	}
	var out []Unread
	check := func(label string, mayBeNotSet bool, words ...string) {
		v, ok := lu.Printed[label]
		switch {
		case !ok && mayBeNotSet:
		case !ok:
			out = append(out, Unread{Label: label, Missing: true})
		case v == PrintedNotSet && mayBeNotSet:
		case absent(v) || (len(words) > 0 && !oneOf(v, words)):
			out = append(out, Unread{Label: label, Printed: v})
		}
	}
	for _, l := range luLabelOrder {
		switch {
		case l == "Write Protect" || l == "Writeback Cache":
			check(l, false, "Enabled", "Disabled")
		case slices.Contains(restored, l):
			check(l, false)
		case slices.Contains(optional, l):
			check(l, true)
		case l == "Access State":
			if v, ok := lu.Printed[l]; ok && v != AccessActive {
				out = append(out, Unread{Label: l, Printed: v})
			}
		}
	}
	return out
}

// luLabelOrder is the order stmfadm prints an LU's lines in.
var luLabelOrder = []string{"Operational Status", "Provider Name", "Alias", "View Entry Count", "Data File", "Meta File",
	"Size", "Block Size", "Management URL", "Vendor ID", "Product ID", "Serial Num", "Write Protect",
	"Writeback Cache", "Access State"}

func oneOf(v string, words []string) bool {
	for _, w := range words {
		if strings.EqualFold(v, w) {
			return true
		}
	}
	return false
}
