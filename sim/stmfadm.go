package sim

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// stmfSub is one row of stmfadm's cmdparse subcommand table.
type stmfSub struct {
	name     string
	opts     string // option letters the subcommand accepts
	required string // options that must be given
	minOps   int
	maxOps   int // -1 = any number
	usage    string
	run      func(e *env, opts []opt, ops []string) int
}

// stmfOptstring is every option cmdparse knows; getopt rejects letters not
// in here, cmdparse then rejects known letters the subcommand does not take.
const stmfOptstring = "ag:kl:n:p:fs:t:h:v"

var stmfLongOpts = map[string]byte{
	"all": 'a', "group-name": 'g', "keep-views": 'k', "lu-name": 'l', "lun": 'n',
	"lu-prop": 'p', "file": 'f', "size": 's', "target-group": 't', "host-group": 'h',
	"verbose": 'v',
}

var stmfSubs []stmfSub

func init() {
	stmfSubs = []stmfSub{
		{"add-hg-member", "g", "g", 1, -1, "add-hg-member [-g, --group-name <group-name>] <member> [<member>...]", stmfAddMember(true)},
		{"add-tg-member", "g", "g", 1, -1, "add-tg-member [-g, --group-name <group-name>] <member> [<member>...]", stmfAddMember(false)},
		{"add-view", "nth", "", 1, 1, "add-view [-n, --lun <logical-unit-number>] [-t, --target-group <group-name>] [-h, --host-group <group-name>] <LU-name>", stmfAddView},
		{"create-hg", "", "", 1, 1, "create-hg <group-name>", stmfCreateGroup(true)},
		{"create-tg", "", "", 1, 1, "create-tg <group-name>", stmfCreateGroup(false)},
		{"create-lu", "ps", "", 1, 1, "create-lu [-p, --lu-prop <lu-prop=value>] [-s, --size <size>] <lu file>", stmfCreateLU},
		{"delete-hg", "", "", 1, 1, "delete-hg <group-name>", stmfDeleteGroup(true)},
		{"delete-tg", "", "", 1, 1, "delete-tg <group-name>", stmfDeleteGroup(false)},
		{"delete-lu", "k", "", 1, -1, "delete-lu [-k, --keep-views] <LU-name> [<LU-name>...]", stmfDeleteLU},
		{"import-lu", "", "", 1, 1, "import-lu <file name>", stmfImportLU},
		{"list-hg", "v", "", 0, -1, "list-hg [-v, --verbose] [<group-name>...]", stmfListGroups(true)},
		{"list-tg", "v", "", 0, -1, "list-tg [-v, --verbose] [<group-name>...]", stmfListGroups(false)},
		{"list-lu", "v", "", 0, -1, "list-lu [-v, --verbose] [<LU-name>...]", stmfListLU},
		{"list-state", "", "", 0, 0, "list-state", stmfListState},
		{"list-target", "v", "", 0, -1, "list-target [-v, --verbose] [<target-name>...]", stmfListTarget},
		{"list-view", "l", "l", 0, -1, "list-view [-l, --lu-name <LU-name>] [<view-entry-number>...]", stmfListView},
		{"modify-lu", "psf", "", 1, 1, "modify-lu [-p, --lu-prop <lu-prop=value>] [-s, --size <size>] [-f, --file] <LU-name or file>", stmfModifyLU},
		{"offline-lu", "", "", 1, 1, "offline-lu <LU-name>", stmfOnlineLU("Offline")},
		{"online-lu", "", "", 1, 1, "online-lu <LU-name>", stmfOnlineLU("Online")},
		{"remove-hg-member", "g", "g", 1, -1, "remove-hg-member [-g, --group-name <group-name>] <member> [<member>...]", stmfRemoveMember(true)},
		{"remove-tg-member", "g", "g", 1, -1, "remove-tg-member [-g, --group-name <group-name>] <member> [<member>...]", stmfRemoveMember(false)},
		{"remove-view", "la", "l", 0, -1, "remove-view [-l, --lu-name <LU-name>] [-a, --all] [<view-entry-number>...]", stmfRemoveView},
	}
}

func stmfGeneralUsage(e *env) {
	e.outf("Usage: %s [-?] [-V] <subcommand> [<options>] [<operands>]\n", e.name)
	e.outf("\tsubcommands:\n")
	for _, sc := range stmfSubs {
		e.outf("\t\t%s\n", sc.name)
	}
}

func stmfSubUsage(e *env, sc *stmfSub) {
	e.outf("Usage:\t%s %s\n", e.name, sc.usage)
}

// expandLong rewrites --long[=val] options to their short letters; unknown
// long options are left for getopt to reject.
func expandLong(args []string) []string {
	out := make([]string, 0, len(args))
	for i, a := range args {
		if a == "--" {
			return append(out, args[i:]...)
		}
		name, val, hasVal := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		c, ok := stmfLongOpts[name]
		if !strings.HasPrefix(a, "--") || !ok {
			out = append(out, a)
			continue
		}
		if hasVal {
			out = append(out, "-"+string(c)+val)
		} else {
			out = append(out, "-"+string(c))
		}
	}
	return out
}

// runStmfadm is cmdparse: find the subcommand, check options and operands,
// then run it. Parser errors go to stdout (except "takes no operands").
func runStmfadm(e *env, args []string) int {
	if len(args) == 0 {
		e.refuse("no subcommand")
		stmfGeneralUsage(e)
		return 1
	}
	switch args[0] {
	case "-V", "--version":
		e.outf("%s: Version 1.0\n", e.name)
		return 0
	case "-?", "--help":
		stmfGeneralUsage(e)
		return 0
	}
	var sc *stmfSub
	for i := range stmfSubs {
		if strings.EqualFold(stmfSubs[i].name, args[0]) {
			c := stmfSubs[i]
			sc = &c
		}
	}
	if sc == nil {
		e.outf("%s: invalid subcommand\n", e.name)
		e.refuse(fmt.Sprintf("%s: invalid subcommand", e.name))
		stmfGeneralUsage(e)
		return 1
	}
	if sc.name == "delete-lu" && e.s.NoDeleteLUKeep {
		// The 11.2/11.3 man pages give delete-lu no options: its cmdparse
		// row then has none, and -k is refused like any option given to a
		// subcommand without options ("no options permitted").
		sc.opts = ""
		sc.usage = "delete-lu <LU-name> [<LU-name>...]"
	}
	rest := expandLong(args[1:])
	if len(rest) > 0 && rest[0] == "-?" {
		stmfSubUsage(e, sc)
		return 0
	}
	opts, ops, ge := getopt(rest, stmfOptstring)
	if ge != nil {
		if ge.missing {
			e.errf("%s: option requires an argument -- %c\n", e.name, ge.c)
		} else {
			e.errf("%s: illegal option -- %c\n", e.name, ge.c)
		}
		e.refuse(e.lastErr)
		stmfSubUsage(e, sc)
		return 1
	}
	for _, o := range opts {
		// cmdparse.h MAXOPTARGLEN: an argument of up to 256 bytes fits.
		if len(o.arg) > 256 {
			e.outf("%s: option too long\n", e.name)
			e.refuse(fmt.Sprintf("%s: option too long", e.name))
			return 255
		}
		if sc.opts == "" {
			e.outf("%s: no options permitted\n", e.name)
			e.refuse(fmt.Sprintf("%s: no options permitted (%s -%c)", e.name, sc.name, o.c))
			stmfSubUsage(e, sc)
			return 1
		}
		if !strings.ContainsRune(sc.opts, rune(o.c)) {
			e.outf("%s: '-%c': invalid option\n", e.name, o.c)
			e.refuse(fmt.Sprintf("%s: '-%c': invalid option (%s)", e.name, o.c, sc.name))
			stmfSubUsage(e, sc)
			return 1
		}
	}
	for _, r := range sc.required {
		if hasOpt(opts, byte(r)) {
			continue
		}
		if len(opts) == 0 {
			e.outf("%s: at least one option required\n", e.name)
			e.refuse(fmt.Sprintf("%s: at least one option required (%s)", e.name, sc.name))
		} else {
			e.outf("%s: Following option(s) required: %s\n", e.name, sc.required)
			e.refuse(fmt.Sprintf("%s: Following option(s) required: %s (%s)", e.name, sc.required, sc.name))
		}
		stmfSubUsage(e, sc)
		return 1
	}
	switch {
	case len(ops) < sc.minOps:
		e.outf("%s: %s requires an operand\n", e.name, sc.name)
		e.refuse(fmt.Sprintf("%s: %s requires an operand", e.name, sc.name))
		stmfSubUsage(e, sc)
		return 1
	case sc.maxOps == 0 && len(ops) > 0:
		e.errf("%s: %s takes no operands\n", e.name, sc.name)
		e.refuse(e.lastErr)
		stmfSubUsage(e, sc)
		return 1
	case sc.maxOps == 1 && len(ops) > 1:
		e.outf("%s: %s accepts only a single operand\n", e.name, sc.name)
		e.refuse(fmt.Sprintf("%s: %s accepts only a single operand", e.name, sc.name))
		stmfSubUsage(e, sc)
		return 1
	}
	return sc.run(e, opts, ops) & 0xff
}

// luMeta is what the simulator keeps in a zvol's stmf_sbd_lu property: the
// LU identity that import-lu reads back. Stored as "SUNSBDLU" + JSON,
// hex-encoded in lowercase like sbd does with its binary metadata.
type luMeta struct {
	GUID    string `json:"guid"`
	Alias   string `json:"alias"`
	Size    int64  `json:"size"`
	Blk     int    `json:"blk"`
	VID     string `json:"vid"`
	PID     string `json:"pid"`
	Serial  string `json:"serial,omitempty"`
	WP      bool   `json:"wp,omitempty"`
	WCD     bool   `json:"wcd,omitempty"`
	MgmtURL string `json:"mgmt-url,omitempty"`
}

const sbdMagic = "SUNSBDLU"

func encodeMeta(lu *LU) string {
	b, _ := json.Marshal(luMeta{lu.GUID, lu.Alias, lu.Size, lu.Blk, lu.VID, lu.PID, lu.Serial, lu.WP, lu.WCD, lu.MgmtURL})
	return hex.EncodeToString(append([]byte(sbdMagic), b...))
}

func decodeMeta(h string) (*luMeta, bool) {
	b, err := hex.DecodeString(h)
	if err != nil || !strings.HasPrefix(string(b), sbdMagic) {
		return nil, false
	}
	var m luMeta
	if err := json.Unmarshal(b[len(sbdMagic):], &m); err != nil || !isGUID(m.GUID) {
		return nil, false
	}
	return &m, true
}

// EncodeLUMeta returns the stmf_sbd_lu property value for an LU, for tests
// that want to plant or compare metadata.
func EncodeLUMeta(lu *LU) string { return encodeMeta(lu) }

// overlap reports whether two view groups select common initiators or
// targets: All ("") matches every group, otherwise the names must be equal.
func overlap(a, b string) bool { return a == "" || b == "" || a == b }

// niceStrToNum parses sizes like 10G or 1.5g (powers of 1024).
func niceStrToNum(v string) (int64, bool) {
	if v == "" {
		return 0, false
	}
	mult := 1.0
	last := strings.ToUpper(v[len(v)-1:])
	if i := strings.Index("BKMGTPE", last); i >= 0 {
		mult = math.Pow(1024, float64(i))
		v = v[:len(v)-1]
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || strings.ContainsAny(v, "eE+-xXnN") {
		return 0, false
	}
	return int64(f * mult), true
}

// luProps collects create-lu/modify-lu -p options with libstmf's checks;
// ok=false after printing the error.
func luProps(e *env, opts []opt, modify bool) (map[string]string, bool) {
	props := map[string]string{}
	for _, o := range opts {
		if o.c != 'p' {
			continue
		}
		// strtok_r(optarg, "=") semantics: leading '=' skipped, value cut
		// at the next '='.
		parts := strings.FieldsFunc(o.arg, func(r rune) bool { return r == '=' })
		if len(parts) == 0 {
			e.errf("%s: %s: invalid property specifier - prop=val\n\n", e.name, o.arg)
			return nil, false
		}
		name := strings.ToLower(parts[0])
		if len(parts) < 2 {
			if modify && name == "mgmt-url" {
				props[name] = ""
				continue
			}
			e.errf("%s: %s: invalid property specifier - prop=val\n\n", e.name, parts[0])
			return nil, false
		}
		val := parts[1]
		if modify {
			switch name {
			case "alias", "mgmt-url", "wp", "wcd":
			default:
				e.errf("%s: invalid property for modify\n", e.name)
				return nil, false
			}
		}
		bad := func(why string) (map[string]string, bool) {
			e.errf("%s: unable to set %s: %s\n", e.name, name, why)
			return nil, false
		}
		switch name {
		case "guid":
			if len(val) != 32 {
				return bad("invalid length")
			}
			if !isHex(val) {
				return bad("bad format")
			}
			val = strings.ToUpper(val)
		case "alias":
			if len(val) > 255 {
				return bad("invalid length")
			}
		case "vid":
			if len(val) > 8 {
				return bad("invalid length")
			}
		case "pid":
			if len(val) > 16 {
				return bad("invalid length")
			}
		case "serial":
			if len(val) > 252 {
				return bad("invalid length")
			}
		case "blk":
			if strings.Trim(val, "0123456789") != "" {
				return bad("bad format")
			}
			if n, err := strconv.Atoi(val); err != nil || n > 65535 {
				return bad("invalid length")
			}
		case "wp", "wcd":
			if !strings.EqualFold(val, "true") && !strings.EqualFold(val, "false") {
				return bad("bad format")
			}
			val = strings.ToLower(val)
		case "oui":
			if len(val) != 6 {
				return bad("invalid length")
			}
			if n, err := strconv.ParseUint(val, 16, 32); err != nil || n == 0 {
				return bad("bad format")
			}
		case "host-id":
			if len(val) != 8 {
				return bad("invalid length")
			}
			if n, err := strconv.ParseUint(val, 16, 32); err != nil || n == 0 {
				return bad("bad format")
			}
		case "meta", "mgmt-url":
		default:
			e.errf("%s: invalid property specified: %s\n", e.name, parts[0])
			return nil, false
		}
		props[name] = val
	}
	return props, true
}

// newGUID makes a GUID in the observed stmf_scsilib_uniq_lu_id2 shape:
// 600144F0 + hostid + 0000 + unix time + counter.
func (s *State) newGUID() string {
	for {
		s.LUCounter++
		g := strings.ToUpper(fmt.Sprintf("600144F0%8s0000%08x%04x", s.HostID, time.Now().Unix(), s.LUCounter&0xffff))
		g = strings.ReplaceAll(g, " ", "0")
		if s.LUs[g] == nil && len(s.ViewTable[g]) == 0 {
			return g
		}
	}
}

// registeredPath returns the LU whose data file is exactly path.
func (s *State) registeredPath(path string) *LU {
	for _, g := range sortedKeys(s.LUs) {
		if s.LUs[g].DataFile == path {
			return s.LUs[g]
		}
	}
	return nil
}

func (s *State) register(lu *LU, path string) {
	lu.DataFile = path
	s.startLU(lu)
	s.LUs[lu.GUID] = lu
	// libstmf persists GUID -> file in SMF so the LU comes back at boot.
	s.ProviderData[strings.ToLower(lu.GUID)] = path
}

func stmfCreateLU(e *env, opts []opt, ops []string) int {
	s := e.s
	props, ok := luProps(e, opts, false)
	if !ok {
		return 1
	}
	var size int64 = -1
	if v, ok := lastOpt(opts, 's'); ok {
		n, good := niceStrToNum(v)
		if !good {
			e.errf("%s: s: size param invalid\n", e.name)
			return 1
		}
		size = n
	}
	path := ops[0]
	zvol, isZvol := zvolOfPath(path)
	d := s.Zvol(zvol)
	if !isZvol || d == nil {
		// Only zvols are modelled as backing stores.
		e.errf("%s: data file error\n", e.name)
		return 1
	}
	if s.registeredPath(path) != nil {
		e.errf("%s: filename %s: in use\n", e.name, path)
		return 1
	}
	if s.holder(zvol) != nil {
		e.errf("%s: resource busy\n", e.name)
		return 1
	}
	lu := &LU{Alias: path, Blk: 512, VID: "SUN     ", PID: "COMSTAR         ", Size: size}
	if v, ok := props["blk"]; ok {
		lu.Blk, _ = strconv.Atoi(v)
	}
	if lu.Blk == 0 || lu.Blk > 32768 || lu.Blk&(lu.Blk-1) != 0 {
		e.errf("%s: invalid block size\n", e.name)
		return 1
	}
	if lu.Size < 0 {
		lu.Size = d.Volsize
	}
	if lu.Size < 1<<20 {
		e.errf("%s: file size invalid\n", e.name)
		return 1
	}
	if lu.Size%int64(lu.Blk) != 0 {
		e.errf("%s: unknown error\n", e.name)
		return 1
	}
	if v, ok := props["alias"]; ok {
		lu.Alias = v
	}
	if v, ok := props["vid"]; ok {
		lu.VID = fmt.Sprintf("%-8s", v)
	}
	if v, ok := props["pid"]; ok {
		lu.PID = fmt.Sprintf("%-16s", v)
	}
	lu.Serial = props["serial"]
	lu.MgmtURL = props["mgmt-url"]
	lu.WP = props["wp"] == "true"
	lu.WCD = props["wcd"] == "true"
	lu.GUID = props["guid"]
	if lu.GUID == "" {
		lu.GUID = s.newGUID()
	}
	// sbd writes the metadata before registering with stmf, so a create
	// that fails with "guid in use" has already replaced the property.
	if d.Props == nil {
		d.Props = map[string]string{}
	}
	d.Props["stmf_sbd_lu"] = encodeMeta(lu)
	if s.LUs[lu.GUID] != nil {
		e.errf("%s: guid in use\n", e.name)
		return 1
	}
	s.register(lu, path)
	e.outf("Logical unit created: %s\n", lu.GUID)
	return 0
}

func stmfImportLU(e *env, _ []opt, ops []string) int {
	s := e.s
	path := ops[0]
	if lu := s.registeredPath(path); lu != nil && !lu.active() {
		// import-lu of a standby LU's file makes it Active on this node
		// (stmfLuStandby(3STMF)); sbd opens its zvol again.
		lu.Access = ""
		e.outf("Logical unit imported: %s\n", lu.GUID)
		return 0
	}
	if s.registeredPath(path) != nil {
		e.errf("%s: filename %s: in use\n", e.name, path)
		return 1
	}
	zvol, isZvol := zvolOfPath(path)
	d := s.Zvol(zvol)
	if !isZvol || d == nil {
		e.errf("%s: meta file error\n", e.name)
		return 1
	}
	m, ok := decodeMeta(d.Props["stmf_sbd_lu"])
	if s.holder(zvol) != nil {
		// Both the in-band metadata fallback and the data open use FEXCL.
		e.errf("%s: resource busy\n", e.name)
		return 1
	}
	if !ok {
		e.errf("%s: meta file error\n", e.name)
		return 1
	}
	guid := strings.ToUpper(m.GUID)
	if s.LUs[guid] != nil {
		e.errf("%s: guid in use\n", e.name)
		return 1
	}
	s.register(&LU{
		GUID: guid, Alias: m.Alias, Size: m.Size, Blk: m.Blk, VID: m.VID, PID: m.PID,
		Serial: m.Serial, WP: m.WP, WCD: m.WCD, MgmtURL: m.MgmtURL,
	}, path)
	e.outf("Logical unit imported: %s\n", guid)
	return 0
}

func stmfDeleteLU(e *env, opts []opt, ops []string) int {
	keep := hasOpt(opts, 'k')
	ret := 0
	for _, op := range ops {
		ret += deleteOperand(e, op, keep)
	}
	return ret
}

// deleteOperand is one turn of deleteLuFunc's loop over the operands: it
// prints its own failure (a message that does not name the GUID, except
// "not found") and returns the failures it adds to the exit status. The
// loop goes on after a failure, so the exit status of a delete-lu is the
// number of operands that failed, and the operands before and after a
// failed one are deleted (docs/platform/comstar-delete-lu.md).
func deleteOperand(e *env, op string, keep bool) int {
	s := e.s
	if !isGUID(op) {
		e.errf("%s: %s: must be 32 hexadecimal digits long\n", e.name, op)
		return 1
	}
	ret := 0
	guid := strings.ToUpper(op)
	lc := strings.ToLower(op)
	lu := s.LUs[guid]
	if lu != nil {
		// libstmf drops the SMF entry before asking the kernel.
		delete(s.ProviderData, lc)
		if lu.Busy {
			e.errf("%s: resource busy\n", e.name)
			ret++
		} else {
			delete(s.LUs, guid)
		}
	}
	if keep {
		return ret
	}
	// Without -k the views go even when the delete failed.
	if lu == nil && len(s.ViewTable[guid]) == 0 {
		e.errf("%s: %s: not found\n", e.name, lc)
		return ret + 1
	}
	delete(s.ViewTable, guid)
	return ret
}

// unpersistOperands is what a delete-lu does before it fails in the
// kernel (fault action fail-partway; runPlatform then prints the fault's
// stderr and exits with its status): libstmf's deleteDiskLu removes the
// failing operand from the SMF provider data before the delete ioctl,
// whose failure leaves the LU registered, with its views (without -k,
// deleteLuFunc removes them whatever the delete returned). The failing
// operand is the last of the command's operands that the fault's match
// names ("delete-lu -k G1 G2": G2); the others are deleted as delete-lu
// deletes them, those before it and those after it alike, since
// deleteLuFunc goes on to the next operand after a failure. A match that
// names no operand fails every registered operand so.
func (s *State) unpersistOperands(args []string) {
	if len(args) == 0 || args[0] != "delete-lu" {
		return
	}
	keep := false
	var guids []string
	for _, a := range args[1:] {
		switch {
		case a == "-k" || a == "--keep-views":
			keep = true
		case isGUID(a):
			guids = append(guids, a)
		}
	}
	failing := s.partwayOperand(args, guids)
	quiet := &env{s: s, name: "stmfadm", stdout: io.Discard, stderr: io.Discard}
	for i, g := range guids {
		if failing >= 0 && i != failing {
			deleteOperand(quiet, g, keep)
			continue
		}
		if s.LUs[strings.ToUpper(g)] != nil {
			delete(s.ProviderData, strings.ToLower(g))
		}
		if !keep {
			delete(s.ViewTable, strings.ToUpper(g))
		}
	}
}

// partwayOperand is the index in guids of the operand a fail-partway
// fault on this delete-lu fails: the last one its match names; -1 when
// it names none (or no such rule fired).
func (s *State) partwayOperand(args, guids []string) int {
	line := strings.Join(append([]string{"stmfadm"}, args...), " ")
	for _, f := range s.Faults {
		if f.Command != "stmfadm" || f.Action != ActionFailPartway || f.Fired == 0 || !strings.Contains(line, f.Match) {
			continue
		}
		match := strings.ToUpper(f.Match)
		last := -1
		for i, g := range guids {
			if strings.Contains(match, strings.ToUpper(g)) {
				last = i
			}
		}
		return last
	}
	return -1
}

// allGUIDs is the kernel LU list: registered LUs and GUIDs that only have
// views, sorted.
func (s *State) allGUIDs() []string {
	set := map[string]bool{}
	for g := range s.LUs {
		set[g] = true
	}
	for g, vs := range s.ViewTable {
		if len(vs) > 0 {
			set[g] = true
		}
	}
	return sortedKeys(set)
}

func stmfListLU(e *env, opts []opt, ops []string) int {
	s := e.s
	all := s.allGUIDs()
	verbose := hasOpt(opts, 'v')
	// listLuFunc: ret is set by every LU listed verbosely (the failure
	// count printExtLuProps returns) and by an operand not found, so the
	// last one decides the exit status; an operand that is not a GUID is
	// reported and does not change it.
	ret := 0
	show := func(g string) {
		e.outf("LU Name: %s\n", g)
		if verbose {
			ret = printLUProps(e, g)
		}
	}
	if len(ops) == 0 {
		for _, g := range all {
			show(g)
		}
		return ret
	}
	for _, op := range ops {
		if !isGUID(op) {
			e.errf("%s: %s: must be 32 hexadecimal digits long\n", e.name, op)
			continue
		}
		found := false
		for _, g := range all {
			if strings.EqualFold(g, op) {
				show(g)
				found = true
				break
			}
		}
		if !found {
			e.errf("%s: %s: not found\n", e.name, op)
			ret = 1
		}
	}
	return ret
}

// printLUProps prints an LU's lines as listLuFunc, printLuProps and
// printExtLuProps do, and returns printExtLuProps' failure count (the
// properties printed as "<error retrieving property>"). An LU that is not
// Active prints "prop unavailable in standby" for every sbd property but
// its access state (libstmf getDiskProp).
func printLUProps(e *env, guid string) int {
	s := e.s
	line := func(label, val string) { e.outf("    %-18s: %s\n", label, val) }
	lu := s.LUs[guid]
	nviews := strconv.Itoa(len(s.ViewTable[guid]))
	if lu == nil {
		line("Operational Status", "unregistered")
		line("Provider Name", "unregistered")
		line("Alias", "-")
		line("View Entry Count", nviews)
		return 0
	}
	notSet := func(v string) string {
		if v == "" {
			return "not set"
		}
		return v
	}
	alias := lu.Alias
	if alias == "" {
		alias = "-"
	}
	wp, wb := "Disabled", "Enabled"
	if lu.WP {
		wp = "Enabled"
	}
	if lu.WCD {
		wb = "Disabled"
	}
	access := lu.Access
	if access == "" {
		access = AccessActive
	}
	failed := 0
	ext := func(label, val string) {
		switch {
		case slices.Contains(s.LUPropErrors[guid], label):
			line(label, "<error retrieving property>")
			failed++
		case !lu.active() && label != "Access State":
			line(label, "prop unavailable in standby")
		default:
			line(label, val)
		}
	}
	line("Operational Status", lu.status(time.Now()))
	line("Provider Name", "sbd")
	line("Alias", alias)
	line("View Entry Count", nviews)
	ext("Data File", lu.DataFile)
	ext("Meta File", "not set")
	ext("Size", strconv.FormatInt(lu.Size, 10))
	ext("Block Size", strconv.Itoa(lu.Blk))
	ext("Management URL", notSet(lu.MgmtURL))
	ext("Vendor ID", lu.VID)
	ext("Product ID", lu.PID)
	ext("Serial Num", notSet(lu.Serial))
	ext("Write Protect", wp)
	ext("Writeback Cache", wb)
	ext("Access State", access)
	return failed
}

func stmfModifyLU(e *env, opts []opt, ops []string) int {
	s := e.s
	props, ok := luProps(e, opts, true)
	if !ok {
		return 1
	}
	var lu *LU
	op := ops[0]
	if hasOpt(opts, 'f') {
		lu = s.registeredPath(op)
		if lu == nil {
			e.errf("%s: meta file error\n", e.name)
			return 1
		}
	} else {
		if len(op) != 32 {
			e.errf("%s: %s: must be 32 hexadecimal digits\n", e.name, op)
			return 1
		}
		if lu = s.LUs[strings.ToUpper(op)]; lu == nil {
			e.errf("%s: %s: not found\n", e.name, op)
			return 1
		}
	}
	if v, ok := lastOpt(opts, 's'); ok {
		n, good := niceStrToNum(v)
		if !good {
			e.errf("%s: s: size param invalid\n", e.name)
			return 1
		}
		if n < 1<<20 {
			e.errf("%s: file size invalid\n", e.name)
			return 1
		}
		lu.Size = n
	}
	for k, v := range props {
		switch k {
		case "alias":
			lu.Alias = v
		case "mgmt-url":
			lu.MgmtURL = v
		case "wp":
			lu.WP = v == "true"
		case "wcd":
			lu.WCD = v == "true"
		}
	}
	if zvol, ok := lu.zvolName(); ok {
		if d := s.Zvol(zvol); d != nil {
			if d.Props == nil {
				d.Props = map[string]string{}
			}
			d.Props["stmf_sbd_lu"] = encodeMeta(lu)
		}
	}
	return 0
}

// stmfOnlineLU is online-lu / offline-lu (onlineOfflineLu): the request,
// then stmfadm's own wait, 300 ms at a time up to 9 s, for the LU to get
// there; past that "Logical Unit state change request submitted. Waiting
// for completion timed out", exit 1, the request still queued. An online
// takes State.OnliningFor (lustate.go); the wait is slept after the host's
// lock is released, as the real command polls without holding anything.
func stmfOnlineLU(state string) func(*env, []opt, []string) int {
	return func(e *env, _ []opt, ops []string) int {
		op := ops[0]
		if len(op) != 32 {
			e.errf("%s: %s: must be 32 hexadecimal digits long\n", e.name, op)
			return 1
		}
		lu := e.s.LUs[strings.ToUpper(op)]
		if lu == nil {
			e.errf("%s: %s: not found\n", e.name, op)
			return 1
		}
		if state == "Offline" {
			lu.State, lu.OnlineAt = "Offline", 0
			return 0
		}
		if lu.State != "Online" {
			lu.State, lu.OnlineAt = "Online", 0
			if d := e.s.onlining(); d > 0 {
				lu.OnlineAt = time.Now().Add(d).UnixNano()
			}
		}
		wait := max(time.Until(time.Unix(0, lu.OnlineAt)), 0)
		if wait > onlineWait {
			e.sleep = onlineWait
			e.errf("%s: Logical Unit state change request submitted. Waiting for completion timed out\n", e.name)
			return 1
		}
		e.sleep = wait
		return 0
	}
}

func stmfListState(e *env, _ []opt, _ []string) int {
	e.outf("%-18s: %s\n", "Operational Status", "online")
	e.outf("%-18s: %s\n", "Config Status", "initialized")
	e.outf("%-18s: %s\n", "ALUA Status", "disabled")
	e.outf("%-18s: %s\n", "ALUA Node", "0")
	return 0
}

// stmfListTarget is listTargetFunc (illumos stmfadm.c, the same in the
// Solaris 11 source drop: docs/platform/comstar.md §7.1 [SRC]; 11.4 is
// assumed to print the same): "Target: NAME" per target, and with -v
// printTargetProps and printSessionProps. Operands are parsed as device ids
// (parseDevid) and matched exactly; one that does not parse or matches no
// target is "stmfadm: NAME: not found" on stderr (that literal, not
// gettext'd), the other operands are still listed, exit 1. No targets at all
// is no output, exit 0 (libstmf returns an empty list). [UNV] the order: the
// simulator lists targets in the order they were added (the kernel's port
// list order is not verified).
func stmfListTarget(e *env, opts []opt, ops []string) int {
	s := e.s
	verbose := hasOpt(opts, 'v')
	show := func(t *Target) {
		e.outf("Target: %s\n", t.Name)
		if !verbose {
			return
		}
		line := func(label, val string) { e.outf("    %-18s: %s\n", label, val) }
		dash := func(v string) string {
			if v == "" {
				return "-"
			}
			return v
		}
		line("Operational Status", "Online")
		line("Provider Name", "iscsit")
		line("Alias", dash(t.Alias))
		line("Protocol", "iSCSI")
		line("Sessions", strconv.Itoa(len(t.Sessions)))
		for _, se := range t.Sessions {
			e.outf("        Initiator: %s\n", se.Initiator)
			e.outf("            Alias: %s\n", dash(se.Alias))
			// ctime(3C): local time, its own newline.
			e.outf("            Logged in since: %s\n", time.Unix(se.Since, 0).Format("Mon Jan _2 15:04:05 2006"))
		}
	}
	if len(ops) == 0 {
		for _, t := range s.Targets {
			show(t)
		}
		return 0
	}
	ret := 0
	for _, op := range ops {
		var t *Target
		if id, ok := parseDevid(op); ok {
			t = s.targetByDevid(id)
		}
		if t == nil {
			e.errf("%s: %s: not found\n", e.name, op)
			ret = 1
			continue
		}
		show(t)
	}
	return ret
}

// atoi is C atoi: optional space and sign, then digits; garbage = 0.
func atoi(v string) int {
	v = strings.TrimLeft(v, " \t")
	neg := false
	if v != "" && (v[0] == '-' || v[0] == '+') {
		neg = v[0] == '-'
		v = v[1:]
	}
	n := 0
	for i := 0; i < len(v) && v[i] >= '0' && v[i] <= '9'; i++ {
		n = n*10 + int(v[i]-'0')
		if n > math.MaxInt32 {
			break
		}
	}
	if neg {
		return -n
	}
	return n
}

func groupName(g string) string {
	if g == "" {
		return "All"
	}
	return g
}

func stmfAddView(e *env, opts []opt, ops []string) int {
	s := e.s
	op := ops[0]
	if len(op) != 32 {
		e.errf("%s: %s: must be 32 hexadecimal digits\n", e.name, op)
		return 1
	}
	guid := strings.ToUpper(op)
	hg, _ := lastOpt(opts, 'h')
	tg, _ := lastOpt(opts, 't')
	lun := -1
	if v, ok := lastOpt(opts, 'n'); ok {
		n := int(uint16(atoi(v)))
		if n > 16383 {
			e.errf("%s: %d: Logical unit number must be less than 16384\n", e.name, n)
			return 1
		}
		lun = n
	}
	if hg != "" && s.HostGroup(hg) == nil {
		e.errf("%s: invalid host group\n", e.name)
		return 1
	}
	if tg != "" && s.TargetGroup(tg) == nil {
		e.errf("%s: invalid target group\n", e.name)
		return 1
	}
	for _, v := range s.ViewTable[guid] {
		if overlap(v.HostGroup, hg) && overlap(v.TargetGroup, tg) {
			e.errf("%s: view entry exists\n", e.name)
			return 1
		}
	}
	used := map[int]bool{}
	for _, vs := range s.ViewTable {
		for _, v := range vs {
			if overlap(v.HostGroup, hg) && overlap(v.TargetGroup, tg) {
				used[v.LUN] = true
			}
		}
	}
	if lun >= 0 && used[lun] {
		e.errf("%s: LUN already in use\n", e.name)
		return 1
	}
	if lun < 0 {
		for lun = 0; used[lun]; lun++ {
		}
		if lun > 16383 {
			e.errf("%s: %s: unknown error\n", e.name, op)
			return 1
		}
	}
	entries := map[int]bool{}
	for _, v := range s.ViewTable[guid] {
		entries[v.Entry] = true
	}
	entry := 0
	for entries[entry] {
		entry++
	}
	s.ViewTable[guid] = append(s.ViewTable[guid], &View{Entry: entry, HostGroup: hg, TargetGroup: tg, LUN: lun})
	return 0
}

func printView(e *env, v *View) {
	e.outf("View Entry: %d\n", v.Entry)
	e.outf("    %-13s: %s\n", "Host group", groupName(v.HostGroup))
	e.outf("    %-13s: %s\n", "Target group", groupName(v.TargetGroup))
	e.outf("    %-13s: %d\n", "LUN", v.LUN)
}

func stmfListView(e *env, opts []opt, ops []string) int {
	g, _ := lastOpt(opts, 'l')
	if len(g) != 32 {
		e.errf("%s: %s: must be 32 hexadecimal digits long\n", e.name, g)
		return 1
	}
	lc := strings.ToLower(g)
	views := e.s.Views(g)
	if len(views) == 0 {
		e.errf("%s: %s: no views found\n", e.name, lc)
		return 1
	}
	if len(ops) == 0 {
		for _, v := range views {
			printView(e, v)
		}
		return 0
	}
	ret := 0
	for _, op := range ops {
		n := atoi(op)
		found := false
		for _, v := range views {
			if v.Entry == n {
				printView(e, v)
				found = true
			}
		}
		if !found {
			e.errf("%s: %s, %s: not found\n", e.name, lc, op)
			ret = 1
		}
	}
	return ret
}

func stmfRemoveView(e *env, opts []opt, ops []string) int {
	s := e.s
	all := hasOpt(opts, 'a')
	if !all && len(ops) == 0 {
		e.errf("%s: no view entries specified\n", e.name)
		return 1
	}
	g, _ := lastOpt(opts, 'l')
	if len(g) != 32 {
		e.errf("%s: %s: must be 32 hexadecimal digits long\n", e.name, g)
		return 1
	}
	guid, lc := strings.ToUpper(g), strings.ToLower(g)
	if len(s.ViewTable[guid]) == 0 {
		e.errf("%s: %s: no views found\n", e.name, lc)
		return 1
	}
	if all {
		delete(s.ViewTable, guid)
		return 0
	}
	ret := 0
	for _, op := range ops {
		n, err := strconv.Atoi(op)
		if err != nil || n < 0 {
			// Reported but, as in stmfadm, not counted as a failure.
			e.errf("%s: %s: invalid input\n", e.name, op)
			continue
		}
		vs := s.ViewTable[guid]
		idx := -1
		for i, v := range vs {
			if v.Entry == n {
				idx = i
			}
		}
		if idx < 0 {
			e.errf("%s: %s: %d: not found\n", e.name, lc, n)
			ret++
			continue
		}
		s.ViewTable[guid] = append(vs[:idx:idx], vs[idx+1:]...)
	}
	if len(s.ViewTable[guid]) == 0 {
		delete(s.ViewTable, guid)
	}
	return ret
}

func (s *State) groups(host bool) *[]*Group {
	if host {
		return &s.HostGroups
	}
	return &s.TargetGroups
}

func stmfCreateGroup(host bool) func(*env, []opt, []string) int {
	return func(e *env, _ []opt, ops []string) int {
		gs := e.s.groups(host)
		name := ops[0]
		if findGroup(*gs, name) != nil {
			e.errf("%s: %s: already exists\n", e.name, name)
			return 1
		}
		*gs = append(*gs, &Group{Name: name})
		return 0
	}
}

func stmfDeleteGroup(host bool) func(*env, []opt, []string) int {
	return func(e *env, _ []opt, ops []string) int {
		s := e.s
		gs := s.groups(host)
		name := ops[0]
		if findGroup(*gs, name) == nil {
			e.errf("%s: %s: not found\n", e.name, name)
			return 1
		}
		for _, vs := range s.ViewTable {
			for _, v := range vs {
				if (host && v.HostGroup == name) || (!host && v.TargetGroup == name) {
					e.errf("%s: %s: group is in use by existing view entry\n", e.name, name)
					return 1
				}
			}
		}
		var keep []*Group
		for _, g := range *gs {
			if g.Name != name {
				keep = append(keep, g)
			}
		}
		*gs = keep
		return 0
	}
}

// deviceID normalises an iqn./wwn./eui. name the way stmfadm does.
func deviceID(m string) (string, bool) {
	low := strings.ToLower(m)
	switch {
	case strings.HasPrefix(low, "iqn."):
		if len(m) > 223 {
			return "", false
		}
		for _, c := range low {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == ':') {
				return "", false
			}
		}
		return low, true
	case strings.HasPrefix(low, "wwn."), strings.HasPrefix(low, "eui."):
		if len(m) != 20 || !isHex(m[4:]) {
			return "", false
		}
		return low[:4] + strings.ToUpper(m[4:]), true
	}
	return "", false
}

func stmfAddMember(host bool) func(*env, []opt, []string) int {
	return func(e *env, opts []opt, ops []string) int {
		gs := e.s.groups(host)
		name, _ := lastOpt(opts, 'g')
		g := findGroup(*gs, name)
		if g == nil {
			e.errf("%s: %s: not found\n", e.name, name)
			return 1
		}
		ret := 0
		for _, op := range ops {
			m, ok := deviceID(op)
			if !ok {
				e.errf("%s: %s: unrecognized device id\n", e.name, op)
				ret++
				continue
			}
			var owner *Group
			for _, x := range *gs {
				for _, y := range x.Members {
					if y == m {
						owner = x
					}
				}
			}
			switch {
			case owner == g:
				// Adding again to the same group succeeds silently.
			case owner != nil:
				e.errf("%s: %s: already exists\n", e.name, op)
				ret++
			default:
				g.Members = append(g.Members, m)
			}
		}
		return ret
	}
}

func stmfRemoveMember(host bool) func(*env, []opt, []string) int {
	return func(e *env, opts []opt, ops []string) int {
		gs := e.s.groups(host)
		name, _ := lastOpt(opts, 'g')
		g := findGroup(*gs, name)
		if g == nil {
			e.errf("%s: %s: not found\n", e.name, name)
			return 1
		}
		ret := 0
		for _, op := range ops {
			m, _ := deviceID(op)
			idx := -1
			for i, y := range g.Members {
				if y == m {
					idx = i
				}
			}
			if idx < 0 {
				e.errf("%s: %s: not found\n", e.name, op)
				ret++
				continue
			}
			g.Members = append(g.Members[:idx:idx], g.Members[idx+1:]...)
		}
		return ret
	}
}

func stmfListGroups(host bool) func(*env, []opt, []string) int {
	return func(e *env, opts []opt, ops []string) int {
		gs := *e.s.groups(host)
		label := "Target Group"
		if host {
			label = "Host Group"
		}
		list := gs
		ret := 0
		if len(ops) > 0 {
			list = nil
			for _, op := range ops {
				if g := findGroup(gs, op); g != nil {
					list = append(list, g)
				} else {
					e.errf("%s: %s: not found\n", e.name, op)
					ret = 1
				}
			}
		}
		for _, g := range list {
			e.outf("%s: %s\n", label, g.Name)
			if hasOpt(opts, 'v') {
				for _, m := range g.Members {
					e.outf("\tMember: %s\n", m)
				}
			}
		}
		return ret
	}
}

// RestartSTMF models `svcadm restart stmf` or a reboot, as
// docs/platform/comstar.md §9 describes it: every registered LU leaves the
// kernel; host groups, target groups and view entries survive (they live in
// SMF); the sbd provider data (GUID -> file, in SMF) is pushed to the kernel
// and sbd imports each file. An import that fails (the file is gone, it is
// not a zvol, its stmf_sbd_lu metadata is missing or unreadable, the GUID or
// the zvol is already taken) is only traced, never reported, so that LU
// simply does not come back and its views show as "unregistered". A good
// import registers the LU with the identity in its metadata (GUID, alias,
// size, block size, VID/PID, serial, WP/WCD, mgmt URL), Online. An LU whose
// provider-data entry is missing (a delete-lu that failed "resource busy")
// disappears. Provider data itself is left as it is: only a successful
// delete-lu removes an entry. Zones are not touched.
func RestartSTMF(root string) error {
	return Update(root, func(s *State) error {
		s.restartSTMF()
		return nil
	})
}

func (s *State) restartSTMF() {
	s.LUs = map[string]*LU{}
	for _, key := range sortedKeys(s.ProviderData) {
		path := s.ProviderData[key]
		zvol, isZvol := zvolOfPath(path)
		d := s.Zvol(zvol)
		if !isZvol || d == nil {
			continue
		}
		m, ok := decodeMeta(d.Props["stmf_sbd_lu"])
		if !ok {
			continue
		}
		guid := strings.ToUpper(m.GUID)
		if s.LUs[guid] != nil || s.holder(zvol) != nil {
			continue
		}
		lu := &LU{
			GUID: guid, DataFile: path, Alias: m.Alias, Size: m.Size, Blk: m.Blk, VID: m.VID, PID: m.PID,
			Serial: m.Serial, MgmtURL: m.MgmtURL, WP: m.WP, WCD: m.WCD,
		}
		// The service's start onlines every LU unless the default LU
		// state is offline (stmf_set_stmf_state).
		s.startLU(lu)
		s.LUs[guid] = lu
	}
}
