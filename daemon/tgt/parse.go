// Package tgt parses the output of tgtadm, the administration client of the
// Linux SCSI target daemon tgtd (the "tgt" iSCSI target), and validates the
// names volctl passes to it.
//
// Everything in the parse, stderr and validate files is a pure function from
// bytes to values: no exec, no I/O. Formats and message texts come from
// docs/platform/linux-tgt.md (linux-tgt.md below), which records the output
// of a real tgtd 1.0.85. The parsers tolerate layout noise (CRLF, blank
// lines, tabs or odd indentation, unknown labels) but a number that does not
// parse, a LUN property outside a LUN or a duplicate tid or LUN is an error,
// never a guess: volctl restores exactly what it read, so it must not read
// something that is not there.
package tgt

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// Target is one "Target <tid>: <name>" block of
// `tgtadm --lld iscsi --op show --mode target` (linux-tgt.md §3.2).
type Target struct {
	TID    int
	Name   string // the target's IQN
	Driver string // "iscsi"
	State  string // "ready", "offline", ...
	// NopInterval and NopCount are only printed when non-zero.
	NopInterval int
	NopCount    int
	// Nexuses are the sessions (I_T nexuses) on the target: any connected
	// initiator, whichever LUN it uses.
	Nexuses  []Nexus
	LUNs     []LUN
	Accounts []Account
	// ACL is the "ACL information" list in tgtd's order: every address rule
	// (bind order), then every initiator-name rule (bind order). Kind says
	// which is which, as far as the text allows (ClassifyACL).
	ACL []ACLRule
}

// Nexus is one "I_T nexus" (iSCSI session) of a target.
type Nexus struct {
	ID          uint64
	Initiator   string
	Alias       string // "" when tgtd prints "none"
	Connections []Connection
}

// Connection is one connection of a session.
type Connection struct {
	CID     int
	Address string // numeric IP address
}

// LUN is one "LUN: <n>" block (linux-tgt.md §3.2). Vendor, product and
// revision are not printed by tgtd 1.0.85; the fields are filled only if a
// later tgtd prints them ("Vendor ID:", "Product ID:", "Product revision:"),
// and VendorShown says whether it did.
type LUN struct {
	LUN            int
	Type           string // "disk", "controller", "cd/dvd", ...
	SCSIID         string // raw, inner spaces kept ("IET     00010000")
	SCSISN         string
	SizeMB         uint64 // tgtd's rough decimal-MB figure (linux-tgt.md §3.2): not exact
	BlockSize      uint32
	Online         bool
	Removable      bool
	PreventRemoval bool
	Readonly       bool
	SWP            bool
	Thin           bool
	BackingType    string // "rdwr", "aio", "null", ...; "" when "None"
	BackingPath    string // "" when "None"
	BackingFlags   string // "", "sync", "direct", "sync:direct"
	VendorID       string
	ProductID      string
	ProductRev     string
	VendorShown    bool
}

// Account is one line of "Account information".
type Account struct {
	User     string
	Outgoing bool
}

// ACLKind tells an address rule (bound with -I) from an initiator-name rule
// (bound with --initiator-name).
type ACLKind string

// ACL rule kinds.
const (
	ACLAddress ACLKind = "address"
	ACLName    ACLKind = "name"
)

// ACLRule is one ACL line.
type ACLRule struct {
	Rule string
	Kind ACLKind
}

// Section headers inside a target block.
const (
	secNone    = ""
	secSystem  = "System information:"
	secNexus   = "I_T nexus information:"
	secLUN     = "LUN information:"
	secAccount = "Account information:"
	secACL     = "ACL information:"
)

// line is one input line with its indentation measured (a TAB counts as one
// level, four columns, like tgtd's _TAB1) and the CR dropped.
type line struct {
	n      int
	indent int
	text   string // without indentation, trailing CR removed
}

func lines(out []byte) []line {
	var ls []line
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 64*1024), len(out)+1)
	for n := 1; sc.Scan(); n++ {
		raw := strings.TrimSuffix(sc.Text(), "\r")
		ind := 0
		i := 0
		for ; i < len(raw); i++ {
			if raw[i] == ' ' {
				ind++
			} else if raw[i] == '\t' {
				ind += 4
			} else {
				break
			}
		}
		if strings.TrimSpace(raw[i:]) == "" {
			continue
		}
		ls = append(ls, line{n: n, indent: ind, text: raw[i:]})
	}
	return ls
}

// keyValue splits "Key: value" at the first ": " (or a trailing ":"). The
// value keeps its inner and trailing spaces except the one space tgtd
// prints after the colon, because SCSI IDs and serials may contain spaces.
func keyValue(s string) (key, value string, ok bool) {
	if i := strings.Index(s, ": "); i >= 0 {
		return s[:i], s[i+2:], true
	}
	if strings.HasSuffix(s, ":") {
		return s[:len(s)-1], "", true
	}
	return "", "", false
}

func yesNo(v string) (bool, error) {
	switch strings.TrimSpace(v) {
	case "Yes":
		return true, nil
	case "No":
		return false, nil
	}
	return false, fmt.Errorf("%q is neither Yes nor No", v)
}

func noneEmpty(v string) string {
	v = strings.TrimSpace(v)
	if v == "None" {
		return ""
	}
	return v
}

// ParseTargets parses `tgtadm --lld iscsi --op show --mode target`
// (linux-tgt.md §3.2). No output (no targets) is an empty list. Targets and
// LUNs keep tgtd's order (ascending tid and LUN).
func ParseTargets(out []byte) ([]Target, error) {
	var (
		ts   []Target
		t    *Target
		sec  = secNone
		lun  *LUN
		nx   *Nexus
		tids = map[int]bool{}
		luns map[int]bool
	)
	nameSeen := false // an initiator-name ACL rule was seen: later rules are names too
	for _, l := range lines(out) {
		// A target header starts at column 0.
		if l.indent == 0 {
			rest, ok := strings.CutPrefix(l.text, "Target ")
			num, name, ok2 := strings.Cut(rest, ":")
			if !ok || !ok2 {
				return nil, fmt.Errorf("tgtadm show line %d: %q is not a target header", l.n, l.text)
			}
			tid, err := strconv.Atoi(num)
			if err != nil || tid <= 0 {
				return nil, fmt.Errorf("tgtadm show line %d: bad tid %q", l.n, num)
			}
			if tids[tid] {
				return nil, fmt.Errorf("tgtadm show line %d: tid %d listed twice", l.n, tid)
			}
			tids[tid] = true
			name = strings.TrimSpace(name)
			if name == "" {
				return nil, fmt.Errorf("tgtadm show line %d: target %d has no name", l.n, tid)
			}
			ts = append(ts, Target{TID: tid, Name: name})
			t = &ts[len(ts)-1]
			sec, lun, nx, luns, nameSeen = secNone, nil, nil, map[int]bool{}, false
			continue
		}
		if t == nil {
			return nil, fmt.Errorf("tgtadm show line %d: %q before the first target", l.n, l.text)
		}
		// Section headers are one level in (4 columns); entries deeper.
		if l.indent < 8 {
			switch l.text {
			case secSystem, secNexus, secLUN, secAccount, secACL:
				sec, lun, nx = l.text, nil, nil
				continue
			}
			return nil, fmt.Errorf("tgtadm show line %d: unknown section %q in target %d", l.n, l.text, t.TID)
		}
		var err error
		switch sec {
		case secSystem:
			err = t.system(l)
		case secNexus:
			nx, err = t.nexus(l, nx)
		case secLUN:
			lun, err = t.lun(l, lun, luns)
		case secAccount:
			user, out := strings.CutSuffix(l.text, " (outgoing)")
			t.Accounts = append(t.Accounts, Account{User: strings.TrimSpace(user), Outgoing: out})
		case secACL:
			r := ACLRule{Rule: strings.TrimSpace(l.text)}
			r.Kind = ClassifyACL(r.Rule)
			if nameSeen {
				r.Kind = ACLName
			}
			nameSeen = r.Kind == ACLName
			t.ACL = append(t.ACL, r)
		default:
			err = fmt.Errorf("%q outside any section", l.text)
		}
		if err != nil {
			return nil, fmt.Errorf("tgtadm show line %d (target %d): %w", l.n, t.TID, err)
		}
	}
	return ts, nil
}

func (t *Target) system(l line) error {
	k, v, ok := keyValue(l.text)
	if !ok {
		return nil // tolerate unknown lines
	}
	var err error
	switch k {
	case "Driver":
		t.Driver = strings.TrimSpace(v)
	case "State":
		t.State = strings.TrimSpace(v)
	case "Nop interval":
		t.NopInterval, err = strconv.Atoi(strings.TrimSpace(v))
	case "Nop count":
		t.NopCount, err = strconv.Atoi(strings.TrimSpace(v))
	}
	if err != nil {
		return fmt.Errorf("%s: %q is not a number", k, v)
	}
	return nil
}

func (t *Target) nexus(l line, cur *Nexus) (*Nexus, error) {
	k, v, ok := keyValue(l.text)
	if !ok {
		return cur, nil
	}
	v = strings.TrimSpace(v)
	switch k {
	case "I_T nexus":
		id, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("I_T nexus id %q is not a number", v)
		}
		t.Nexuses = append(t.Nexuses, Nexus{ID: id})
		return &t.Nexuses[len(t.Nexuses)-1], nil
	}
	if cur == nil {
		return nil, fmt.Errorf("%q before any I_T nexus", l.text)
	}
	switch k {
	case "Initiator":
		name, alias, _ := strings.Cut(v, " alias: ")
		cur.Initiator = strings.TrimSpace(name)
		if alias = strings.TrimSpace(alias); alias != "none" {
			cur.Alias = alias
		}
	case "Connection":
		cid, err := strconv.Atoi(v)
		if err != nil {
			return nil, fmt.Errorf("connection id %q is not a number", v)
		}
		cur.Connections = append(cur.Connections, Connection{CID: cid})
	case "IP Address":
		if len(cur.Connections) == 0 {
			return nil, fmt.Errorf("IP Address before any connection")
		}
		cur.Connections[len(cur.Connections)-1].Address = v
	}
	return cur, nil
}

func (t *Target) lun(l line, cur *LUN, seen map[int]bool) (*LUN, error) {
	k, v, ok := keyValue(l.text)
	if !ok {
		return cur, nil
	}
	if k == "LUN" {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 0 || n > 16383 {
			return nil, fmt.Errorf("LUN %q is not a LUN number", v)
		}
		if seen[n] {
			return nil, fmt.Errorf("LUN %d listed twice", n)
		}
		seen[n] = true
		t.LUNs = append(t.LUNs, LUN{LUN: n})
		return &t.LUNs[len(t.LUNs)-1], nil
	}
	if cur == nil {
		return nil, fmt.Errorf("%q before any LUN", l.text)
	}
	var err error
	switch k {
	case "Type":
		cur.Type = strings.TrimSpace(v)
	case "SCSI ID":
		cur.SCSIID = v
	case "SCSI SN":
		cur.SCSISN = v
	case "Size":
		err = cur.size(v)
	case "Online":
		cur.Online, err = yesNo(v)
	case "Removable media":
		cur.Removable, err = yesNo(v)
	case "Prevent removal":
		cur.PreventRemoval, err = yesNo(v)
	case "Readonly":
		cur.Readonly, err = yesNo(v)
	case "SWP":
		cur.SWP, err = yesNo(v)
	case "Thin-provisioning":
		cur.Thin, err = yesNo(v)
	case "Backing store type":
		cur.BackingType = noneEmpty(v)
	case "Backing store path":
		cur.BackingPath = noneEmpty(v)
	case "Backing store flags":
		cur.BackingFlags = strings.TrimSpace(v)
	case "Vendor ID", "Vendor":
		cur.VendorID, cur.VendorShown = v, true
	case "Product ID", "Product":
		cur.ProductID, cur.VendorShown = v, true
	case "Product revision", "Revision":
		cur.ProductRev = v
	}
	if err != nil {
		return nil, fmt.Errorf("LUN %d %s: %w", cur.LUN, k, err)
	}
	return cur, nil
}

// size parses "34 MB, Block size: 512".
func (u *LUN) size(v string) error {
	mb, bs, ok := strings.Cut(v, ", Block size: ")
	if !ok {
		return fmt.Errorf("size %q: want \"<n> MB, Block size: <n>\"", v)
	}
	n, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(mb), " MB"), 10, 64)
	if err != nil {
		return fmt.Errorf("size %q: not a number of MB", mb)
	}
	b, err := strconv.ParseUint(strings.TrimSpace(bs), 10, 32)
	if err != nil {
		return fmt.Errorf("block size %q: not a number", bs)
	}
	u.SizeMB, u.BlockSize = n, uint32(b)
	return nil
}

// Find returns the target with tid, if listed.
func Find(ts []Target, tid int) (Target, bool) {
	for _, t := range ts {
		if t.TID == tid {
			return t, true
		}
	}
	return Target{}, false
}

// FindLUN returns LUN n of t, if listed.
func (t Target) FindLUN(n int) (LUN, bool) {
	for _, u := range t.LUNs {
		if u.LUN == n {
			return u, true
		}
	}
	return LUN{}, false
}

// Session is one connection line group of
// `tgtadm --lld iscsi --op show --mode conn --tid N` (linux-tgt.md §3.4).
type Session struct {
	SID       uint64
	CID       int
	Initiator string
	Address   string
}

// ParseConns parses `--op show --mode conn`: "Session: <sid>", then per
// connection "Connection: <cid>", "Initiator: <name>", "IP Address: <addr>".
// No output is no session.
func ParseConns(out []byte) ([]Session, error) {
	var ss []Session
	var sid uint64
	haveSID := false
	for _, l := range lines(out) {
		k, v, ok := keyValue(l.text)
		if !ok {
			return nil, fmt.Errorf("tgtadm show conn line %d: %q is not \"key: value\"", l.n, l.text)
		}
		v = strings.TrimSpace(v)
		switch k {
		case "Session":
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("tgtadm show conn line %d: session %q is not a number", l.n, v)
			}
			sid, haveSID = n, true
		case "Connection":
			if !haveSID {
				return nil, fmt.Errorf("tgtadm show conn line %d: connection before any session", l.n)
			}
			cid, err := strconv.Atoi(v)
			if err != nil {
				return nil, fmt.Errorf("tgtadm show conn line %d: connection %q is not a number", l.n, v)
			}
			ss = append(ss, Session{SID: sid, CID: cid})
		case "Initiator", "IP Address":
			if len(ss) == 0 {
				return nil, fmt.Errorf("tgtadm show conn line %d: %s before any connection", l.n, k)
			}
			if k == "Initiator" {
				ss[len(ss)-1].Initiator = v
			} else {
				ss[len(ss)-1].Address = v
			}
		}
	}
	return ss, nil
}

// ParseAccounts parses `--op show --mode account` (linux-tgt.md §5.5):
// nothing, or "Account list:" and one user per line.
func ParseAccounts(out []byte) ([]string, error) {
	var users []string
	head := false
	for _, l := range lines(out) {
		if l.indent == 0 {
			if l.text != "Account list:" || head {
				return nil, fmt.Errorf("tgtadm show account line %d: unexpected %q", l.n, l.text)
			}
			head = true
			continue
		}
		if !head {
			return nil, fmt.Errorf("tgtadm show account line %d: user before \"Account list:\"", l.n)
		}
		users = append(users, strings.TrimSpace(l.text))
	}
	return users, nil
}
