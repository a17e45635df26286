// Package comstar parses the output of the COMSTAR administration commands
// (stmfadm) on Oracle Solaris 11.4 and illumos, and validates the names volctl
// passes to them.
//
// Everything here is a pure function from bytes to values: no exec, no I/O.
// Formats and message texts come from docs/platform/comstar.md (comstar.md
// below) and comstar-lu.md. They were read from source, not captured on a
// live host, so the parsers are lenient about layout (label padding, unknown
// labels, CRLF, blank lines) but strict about the values volctl acts on (GUIDs,
// numbers): a value that cannot be understood is an error, never a guess.
package comstar

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// LU is one logical unit from `stmfadm list-lu [-v]` (comstar.md §4).
type LU struct {
	GUID                   string // 32 hex, normalised to UPPERCASE
	OperationalStatus      string // "Online", "Offline", "unregistered", ...; "" in non-verbose output
	ProviderName           string
	Alias                  string
	ViewEntryCount         int    // -1 when "unknown" or not printed
	DataFile               string // "" when "not set"
	MetaFile               string // "" when "not set"
	Size                   uint64
	BlockSize              uint32
	MgmtURL                string // "" when "not set"
	VendorID               string // raw, trailing spaces preserved
	ProductID              string // raw, trailing spaces preserved
	SerialNum              string // "" when "not set"
	WriteProtect           bool   // "Write Protect : Enabled"
	WritebackCacheDisabled bool   // "Writeback Cache : Disabled" means wcd=true (inverted sense!)
	AccessState            string
	Registered             bool // false for "unregistered" GUIDs that only have views
	// Printed is every property line of `list-lu -v` for this LU, by the
	// label as stmfadm prints it ("Data File", "Access State", ...), with
	// the value as printed (spaces around it trimmed): the fields above
	// read a placeholder as the zero value, so this is what tells "not
	// set" from "prop unavailable in standby" or a missing line, and what
	// a refusal quotes (readable.go). nil in non-verbose output.
	Printed map[string]string
}

// View is one view entry from `stmfadm list-view -l GUID` (comstar.md §5.2).
// HostGroup and TargetGroup are "All" when the entry applies to all groups.
type View struct {
	Entry       int
	HostGroup   string
	TargetGroup string
	LUN         int // -1 when the LUN is not a number (Solaris 11.x "LUN : Auto")
}

// Key is the identity of a view for comparing captured and present views:
// "hg|tg|lun". The entry number is not part of it because stmfadm reuses
// entry numbers (comstar.md §5.1). ValidateGroupName rejects '|', so keys built
// from validated names are unambiguous.
func (v View) Key() string {
	return v.HostGroup + "|" + v.TargetGroup + "|" + strconv.Itoa(v.LUN)
}

// Placeholder values stmfadm prints instead of a property value
// (comstar-lu.md §1).
const (
	notSet           = "not set"
	unavailStandby   = "prop unavailable in standby"
	errRetrievingVal = "<error retrieving property>"
)

// luLabels are the labels of `list-lu -v` as stmfadm prints them
// (printLuProps, listLuFunc, printExtLuProps; docs/platform/comstar-lu.md
// §1), by their lower-case form: Printed is keyed by these.
var luLabels = map[string]string{}

func init() {
	for _, l := range luLabelOrder {
		luLabels[strings.ToLower(l)] = l
	}
}

// absent reports whether v is one of stmfadm's "no value here" placeholders.
func absent(v string) bool {
	switch strings.TrimSpace(v) {
	case notSet, unavailStandby, errRetrievingVal, "":
		return true
	}
	return false
}

// line is one output line with its 1-based number, CR stripped.
type line struct {
	n    int
	text string
}

func lines(out []byte) []line {
	var ls []line
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 64*1024), len(out)+1)
	for n := 1; sc.Scan(); n++ {
		ls = append(ls, line{n, strings.TrimSuffix(sc.Text(), "\r")})
	}
	return ls
}

// splitLabel splits "    Label   : value" at the first ':' into the trimmed
// label and the raw value (one separating space removed, the rest kept so
// that the space-padded Vendor/Product IDs survive).
func splitLabel(s string) (label, value string, ok bool) {
	i := strings.IndexByte(s, ':')
	if i < 0 {
		return "", "", false
	}
	label = strings.TrimSpace(s[:i])
	value = strings.TrimPrefix(s[i+1:], " ")
	return label, value, label != ""
}

// ParseListLU parses `stmfadm list-lu -v [GUID...]` (comstar.md §4). It also
// accepts the non-verbose form, which has only "LU Name: GUID" lines; those
// LUs carry just the GUID, ViewEntryCount -1 and Registered true (the
// non-verbose output cannot tell, so ask with -v when it matters).
//
// Placeholders ("not set", "prop unavailable in standby", "<error retrieving
// property>") leave the zero value. Unknown labels are kept in Printed
// only. Fail closed: a line that is not "label: value", or a property
// before any "LU Name:", is output volctl does not understand and an error
// quoting it (docs/platform/comstar-lu.md §1): read as noise, a listing
// that is not one would be "no LU" and the rollback would go on without
// the LU steps. A GUID that is not 32 hex digits, or a number that does not
// parse, is an error.
func ParseListLU(out []byte) ([]LU, error) {
	var lus []LU
	for _, l := range lines(out) {
		if strings.TrimSpace(l.text) == "" {
			continue
		}
		label, raw, ok := splitLabel(l.text)
		if !ok {
			return nil, fmt.Errorf("list-lu line %d: %q is not a \"label: value\" line stmfadm prints", l.n, l.text)
		}
		if label == "LU Name" {
			g := strings.TrimSpace(raw)
			if err := ValidateGUID(g); err != nil {
				return nil, fmt.Errorf("list-lu line %d: LU Name: %w", l.n, err)
			}
			lus = append(lus, LU{GUID: NormalizeGUID(g), ViewEntryCount: -1, Registered: true})
			continue
		}
		if len(lus) == 0 {
			return nil, fmt.Errorf("list-lu line %d: %q comes before any \"LU Name:\" line", l.n, l.text)
		}
		if err := setLUProp(&lus[len(lus)-1], label, raw); err != nil {
			return nil, fmt.Errorf("list-lu line %d: %s: %w", l.n, label, err)
		}
	}
	return lus, nil
}

func setLUProp(lu *LU, label, raw string) error {
	v := strings.TrimSpace(raw)
	if err := notePrinted(lu, label, v); err != nil {
		return err
	}
	switch l := strings.ToLower(label); l {
	case "view entry count", "size", "block size":
		return setLUNumber(lu, l, v)
	default:
		setLUText(lu, l, v, raw)
	}
	return nil
}

// notePrinted records what list-lu -v printed for the property (LU.Printed,
// under its canonical label).
func notePrinted(lu *LU, label, v string) error {
	if lu.Printed == nil {
		lu.Printed = map[string]string{}
	}
	canon := label
	if c, ok := luLabels[strings.ToLower(label)]; ok {
		canon = c
	}
	if _, seen := lu.Printed[canon]; seen {
		// One LU, one line per property: a second one is output volctl
		// does not understand (which of the two would it restore?).
		return fmt.Errorf("printed twice for LU %s", lu.GUID)
	}
	lu.Printed[canon] = v
	return nil
}

// setLUNumber sets a numeric property (label lower-case); a value that
// does not parse is an error.
func setLUNumber(lu *LU, label, v string) error {
	switch label {
	case "view entry count":
		if absent(v) || strings.EqualFold(v, "unknown") {
			lu.ViewEntryCount = -1
			return nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("invalid count %q", v)
		}
		lu.ViewEntryCount = n
	case "size":
		if absent(v) {
			return nil
		}
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return fmt.Errorf("invalid size %q", v)
		}
		lu.Size = n
	case "block size":
		if absent(v) {
			return nil
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return fmt.Errorf("invalid block size %q", v)
		}
		lu.BlockSize = uint32(n)
	}
	return nil
}

// setLUText sets a property printed as text (label lower-case; v is raw
// trimmed). Unknown labels are ignored.
func setLUText(lu *LU, label, v, raw string) {
	str := func() string {
		if absent(v) {
			return ""
		}
		return v
	}
	// A free-text value is kept as printed ("%s\n" after the label's
	// ": "): spaces inside or around it are the property's own, and
	// create-lu must give them back unchanged.
	text := func() string {
		if absent(v) {
			return ""
		}
		return raw
	}
	switch label {
	case "operational status":
		lu.OperationalStatus = v
		if strings.EqualFold(v, "unregistered") {
			lu.Registered = false
		}
	case "provider name":
		lu.ProviderName = v
		if strings.EqualFold(v, "unregistered") {
			lu.Registered = false
		}
	case "alias":
		if v != "-" { // "-" is how stmfadm prints an empty alias
			lu.Alias = text()
		}
	case "data file":
		lu.DataFile = str()
	case "meta file":
		lu.MetaFile = str()
	case "management url":
		lu.MgmtURL = text()
	case "vendor id":
		if !absent(raw) {
			lu.VendorID = raw
		}
	case "product id":
		if !absent(raw) {
			lu.ProductID = raw
		}
	case "serial num":
		lu.SerialNum = text()
	case "write protect":
		lu.WriteProtect = strings.EqualFold(v, "Enabled")
	case "writeback cache":
		lu.WritebackCacheDisabled = strings.EqualFold(v, "Disabled")
	case "access state":
		lu.AccessState = str()
	}
}

// ParseListView parses `stmfadm list-view -l GUID` (comstar.md §5.2):
//
//	View Entry: 0
//	    Host group   : All
//	    Target group : All
//	    LUN          : 0
//
// Labels are matched case-insensitively. Every entry must have a host group,
// a target group and a LUN line: a view that cannot be restored exactly is an
// error. Only the first LUN line of an entry counts (Solaris 11.x -v adds
// per-initiator "Lun" lines); a non-numeric LUN ("Auto") gives LUN -1.
func ParseListView(out []byte) ([]View, error) {
	type seen struct{ hg, tg, lun bool }
	var (
		views []View
		got   []seen
	)
	for _, l := range lines(out) {
		label, raw, ok := splitLabel(l.text)
		if !ok {
			continue
		}
		v := strings.TrimSpace(raw)
		if strings.EqualFold(label, "View Entry") {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("list-view line %d: invalid entry number %q", l.n, v)
			}
			views = append(views, View{Entry: n, LUN: -1})
			got = append(got, seen{})
			continue
		}
		if len(views) == 0 {
			continue
		}
		cur, s := &views[len(views)-1], &got[len(got)-1]
		switch strings.ToLower(label) {
		case "host group":
			cur.HostGroup, s.hg = v, true
		case "target group":
			cur.TargetGroup, s.tg = v, true
		case "lun":
			if s.lun {
				continue
			}
			s.lun = true
			f := strings.Fields(v)
			if len(f) == 0 {
				return nil, fmt.Errorf("list-view line %d: empty LUN", l.n)
			}
			n, err := strconv.Atoi(f[0])
			switch {
			case err == nil && n >= 0 && n < 16384:
				cur.LUN = n
			case err != nil && strings.EqualFold(f[0], "Auto"):
				cur.LUN = -1
			default:
				return nil, fmt.Errorf("list-view line %d: invalid LUN %q", l.n, v)
			}
		}
	}
	for i, s := range got {
		if !s.hg || !s.tg || !s.lun || views[i].HostGroup == "" || views[i].TargetGroup == "" {
			return nil, fmt.Errorf("list-view: view entry %d is incomplete", views[i].Entry)
		}
	}
	return views, nil
}

// ParseImportLU parses the stdout of `stmfadm import-lu FILE`:
// "Logical unit imported: GUID" (comstar.md §2.2). It returns the GUID
// uppercased.
func ParseImportLU(out []byte) (string, error) {
	g, err := parseGUIDLine(out, "Logical unit imported")
	if err != nil {
		return "", fmt.Errorf("import-lu output: %w", err)
	}
	return g, nil
}

// ParseCreateLU parses the stdout of `stmfadm create-lu ...`:
// "Logical unit created: GUID" (comstar.md §2.1). It returns the GUID
// uppercased.
func ParseCreateLU(out []byte) (string, error) {
	g, err := parseGUIDLine(out, "Logical unit created")
	if err != nil {
		return "", fmt.Errorf("create-lu output: %w", err)
	}
	return g, nil
}

func parseGUIDLine(out []byte, label string) (string, error) {
	for _, l := range lines(out) {
		lab, raw, ok := splitLabel(l.text)
		if !ok || !strings.EqualFold(lab, label) {
			continue
		}
		g := strings.TrimSpace(raw)
		if err := ValidateGUID(g); err != nil {
			return "", fmt.Errorf("line %d: %w", l.n, err)
		}
		return NormalizeGUID(g), nil
	}
	return "", fmt.Errorf("no %q line", label+": <GUID>")
}

// ParseListHG parses `stmfadm list-hg [-v]` and `stmfadm list-tg [-v]`
// (comstar.md §6) into group name -> members, in output order:
//
//	Host Group: hg1
//		Member: iqn.1998-01.com.vmware:esx1
//
// Both "Host Group:" and "Target Group:" headers are accepted. Groups without
// members (or non-verbose output) map to an empty, non-nil slice. A member
// line before any group header is an error.
func ParseListHG(out []byte) (map[string][]string, error) {
	groups := map[string][]string{}
	cur, have := "", false
	for _, l := range lines(out) {
		label, raw, ok := splitLabel(l.text)
		if !ok {
			continue
		}
		v := strings.TrimSpace(raw)
		switch strings.ToLower(label) {
		case "host group", "target group":
			if v == "" {
				return nil, fmt.Errorf("list-hg line %d: empty group name", l.n)
			}
			cur, have = v, true
			if groups[cur] == nil {
				groups[cur] = []string{}
			}
		case "member":
			if !have {
				return nil, fmt.Errorf("list-hg line %d: member %q outside a group", l.n, v)
			}
			if v != "" {
				groups[cur] = append(groups[cur], v)
			}
		}
	}
	return groups, nil
}
