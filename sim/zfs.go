package sim

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Sizes used to give used/referenced plausible values.
const (
	blockSize     = 8192
	fsReferenced  = 32768
	poolAvailable = 53687091200 // 50G free, fixed
)

func roundUp(n, to int64) int64 { return (n + to - 1) / to * to }

// contentSize is what a volume's content references: one metadata block,
// the data rounded to blocks, and a block of host data if there is any.
func contentSize(data []byte, hd *HostData) int64 {
	n := blockSize + roundUp(int64(len(data)), blockSize)
	if hd != nil {
		n += blockSize
	}
	return n
}

// changedSize is the simulated number of bytes written between two
// contents: 0 when equal, otherwise the newer content's data plus a block.
func changedSize(d1 []byte, h1 *HostData, d2 []byte, h2 *HostData) int64 {
	if sameContent(d1, h1, d2, h2) {
		return 0
	}
	return contentSize(d1, h1)
}

// dsRef names a dataset or one of its snapshots (snap != nil).
type dsRef struct {
	ds   *Dataset
	snap *Snapshot
}

func (r dsRef) name() string {
	if r.snap != nil {
		return r.ds.Name + "@" + r.snap.Name
	}
	return r.ds.Name
}

func (r dsRef) typ() string {
	if r.snap != nil {
		return "snapshot"
	}
	return r.ds.Type
}

func (r dsRef) content() ([]byte, *HostData) {
	if r.snap != nil {
		return r.snap.Data, r.snap.HostData
	}
	return r.ds.Data, r.ds.HostData
}

// snapIndex returns the position of r's snapshot in creation order.
func (r dsRef) snapIndex() int {
	for i, sn := range r.ds.Snapshots {
		if sn == r.snap {
			return i
		}
	}
	return -1
}

// lookup resolves "ds" or "ds@snap".
func (s *State) lookup(name string) (dsRef, bool) {
	dsName, snapName, isSnap := strings.Cut(name, "@")
	d := s.Dataset(dsName)
	if d == nil {
		return dsRef{}, false
	}
	if !isSnap {
		return dsRef{ds: d}, true
	}
	sn := d.Snapshot(snapName)
	if sn == nil {
		return dsRef{}, false
	}
	return dsRef{ds: d, snap: sn}, true
}

func (s *State) children(parent string) []*Dataset {
	var out []*Dataset
	for _, d := range s.Datasets {
		if strings.HasPrefix(d.Name, parent+"/") {
			out = append(out, d)
		}
	}
	return out
}

func (s *State) used(r dsRef) int64 {
	if r.snap != nil {
		// Unique to the snapshot: what changed before the next newer content.
		i := r.snapIndex()
		nd, nh := r.ds.Data, r.ds.HostData
		if i+1 < len(r.ds.Snapshots) {
			nd, nh = r.ds.Snapshots[i+1].Data, r.ds.Snapshots[i+1].HostData
		}
		return changedSize(r.snap.Data, r.snap.HostData, nd, nh)
	}
	var snaps int64
	for _, sn := range r.ds.Snapshots {
		snaps += s.used(dsRef{ds: r.ds, snap: sn})
	}
	if r.ds.Type == "volume" {
		// A volume reserves its refreservation (volsize unless set
		// otherwise, none for a clone); a clone's own data is only what
		// changed since its origin (clone.go).
		return max(r.ds.refres(), s.unique(r)) + snaps
	}
	n := s.referenced(r) + snaps
	for _, c := range s.children(r.ds.Name) {
		if strings.Count(c.Name, "/") == strings.Count(r.ds.Name, "/")+1 {
			n += s.used(dsRef{ds: c})
		}
	}
	return n
}

func (s *State) referenced(r dsRef) int64 {
	if r.ds.Type == "filesystem" {
		return fsReferenced
	}
	d, h := r.content()
	return contentSize(d, h)
}

// written is bytes written since the previous snapshot (or since creation).
func (s *State) written(r dsRef) int64 {
	d, h := r.content()
	var prev *Snapshot
	if r.snap != nil {
		if i := r.snapIndex(); i > 0 {
			prev = r.ds.Snapshots[i-1]
		}
	} else if n := len(r.ds.Snapshots); n > 0 {
		prev = r.ds.Snapshots[n-1]
	}
	if prev == nil {
		if o, ok := s.originOf(r.ds); ok && r.ds.Type == "volume" {
			od, oh := o.content()
			return changedSize(d, h, od, oh)
		}
		return s.referenced(r)
	}
	if r.ds.Type == "filesystem" {
		return 0
	}
	return changedSize(d, h, prev.Data, prev.HostData)
}

// zfsProps are the properties get and list know (beyond written@snap).
var zfsProps = []string{
	"name", "type", "creation", "used", "available", "avail", "referenced", "refer",
	"volsize", "volblocksize", "createtxg", "mountpoint", "written", "origin",
	"refreservation", "stmf_sbd_lu", "userrefs", "clones",
}

// allProps is what "zfs get all" shows (hidden stmf_sbd_lu excluded).
var allProps = []string{
	"type", "creation", "used", "available", "referenced", "mountpoint", "origin",
	"volsize", "volblocksize", "refreservation", "createtxg", "written",
}

// isWrittenProp: written or written@<snap>, which only illumos and
// OpenZFS have (docs/platform/zfs.md §1).
func isWrittenProp(p string) bool {
	return p == "written" || (strings.HasPrefix(p, "written@") && len(p) > len("written@"))
}

// validProp reports whether the flavor's zfs knows the property.
func (s *State) validProp(p string) bool {
	if isWrittenProp(p) {
		return s.hasWritten()
	}
	if isUserProp(p) {
		return true
	}
	for _, k := range zfsProps {
		if k == p {
			return true
		}
	}
	return false
}

// allPropsOf is allProps without what the flavor lacks.
func (s *State) allPropsOf() []string {
	var out []string
	for _, p := range allProps {
		if s.validProp(p) {
			out = append(out, p)
		}
	}
	return out
}

// propValue returns a property's value and source; ok=false means not
// applicable (shown as "-"). parsable selects raw numbers (-p).
func (s *State) propValue(r dsRef, prop string, parsable bool) (val, source string, ok bool) {
	size := func(n int64) string {
		if parsable {
			return strconv.FormatInt(n, 10)
		}
		return nicenum(n)
	}
	if isUserProp(prop) {
		return s.userPropValue(r, prop)
	}
	switch prop {
	case "name":
		return r.name(), "-", true
	case "type":
		return r.typ(), "-", true
	case "creation":
		c := r.ds.Creation
		if r.snap != nil {
			c = r.snap.Creation
		}
		if parsable {
			return strconv.FormatInt(c, 10), "-", true
		}
		return time.Unix(c, 0).Format("Mon Jan _2 15:04 2006"), "-", true
	case "createtxg":
		t := r.ds.CreateTxg
		if r.snap != nil {
			t = r.snap.CreateTxg
		}
		return strconv.FormatUint(t, 10), "-", true
	case "used":
		return size(s.used(r)), "-", true
	case "available", "avail":
		if r.snap != nil {
			return "", "", false
		}
		return size(poolAvailable), "-", true
	case "referenced", "refer":
		return size(s.referenced(r)), "-", true
	case "volsize":
		if r.ds.Type != "volume" {
			return "", "", false
		}
		if r.snap != nil {
			// volsize is registered for volumes only on Solaris and
			// illumos-gate (zfs_prop.c; zfs_prop_get checks the
			// snapshot's own type); OpenZFS registers it for snapshots.
			if !s.snapVolsize() {
				return "", "", false
			}
			return size(r.snap.Volsize), "-", true
		}
		return size(r.ds.Volsize), "local", true
	case "volblocksize":
		if r.ds.Type != "volume" {
			return "", "", false
		}
		return size(blockSize), "default", true
	case "refreservation":
		if r.snap != nil {
			return "", "", false
		}
		if r.ds.Type != "volume" {
			return "none", "default", true
		}
		if r.ds.refres() == 0 {
			return "none", "default", true
		}
		return size(r.ds.refres()), "local", true
	case "mountpoint":
		if r.snap != nil || r.ds.Type != "filesystem" {
			return "", "", false
		}
		return "/" + r.ds.Name, "default", true
	case "origin":
		// A clone's origin snapshot; "-" for anything else (clone.go).
		if r.snap != nil || r.ds.Origin == "" {
			return "", "", false
		}
		return r.ds.Origin, "-", true
	case "clones":
		if r.snap == nil {
			return "", "", false
		}
		var names []string
		for _, c := range s.clonesOf(r.name()) {
			names = append(names, c.Name)
		}
		return strings.Join(names, ","), "-", true
	case "userrefs":
		// The number of user holds, for snapshots only (zfs_prop.c
		// registers it for ZFS_TYPE_SNAPSHOT, on Solaris 11 and illumos
		// alike); the simulator has no holds.
		if r.snap == nil {
			return "", "", false
		}
		return "0", "-", true
	case "written":
		return size(s.written(r)), "-", true
	case "stmf_sbd_lu":
		if r.snap != nil || r.ds.Type != "volume" {
			return "", "", false
		}
		v, set := r.ds.Props["stmf_sbd_lu"]
		if !set {
			return "", "", false
		}
		return v, "local", true
	}
	if snapName, found := strings.CutPrefix(prop, "written@"); found {
		sn := r.ds.Snapshot(snapName)
		if sn == nil {
			return "", "", false
		}
		// zfs get's get_callback prints written@ with source "local"
		// (ZPROP_SRC_LOCAL) when it has a value, "-" when the snapshot is
		// missing (docs/platform/zfs.md §6.4: read the value only).
		if r.ds.Type == "filesystem" {
			return size(0), "local", true
		}
		d, h := r.content()
		return size(changedSize(d, h, sn.Data, sn.HostData)), "local", true
	}
	return "", "", false
}

// nicenum is zfs_nicenum: 1024-based units, at most 5 characters.
func nicenum(n int64) string {
	const units = " KMGTPE"
	i, v := 0, n
	for v >= 1024 && i < 6 {
		v /= 1024
		i++
	}
	if i == 0 {
		return strconv.FormatInt(n, 10)
	}
	div := float64(int64(1) << (10 * i))
	if n%(int64(1)<<(10*i)) == 0 {
		return fmt.Sprintf("%d%c", v, units[i])
	}
	var out string
	for prec := 2; prec >= 0; prec-- {
		out = fmt.Sprintf("%.*f%c", prec, float64(n)/div, units[i])
		if len(out) <= 5 {
			break
		}
	}
	return out
}

// printTable prints rows TAB-separated (scripted, -H) or, with a header,
// padded to the widest cell with two spaces between columns.
func printTable(e *env, header []string, rows [][]string, scripted bool) {
	if scripted {
		for _, r := range rows {
			e.outf("%s\n", strings.Join(r, "\t"))
		}
		return
	}
	width := make([]int, len(header))
	for i, h := range header {
		width[i] = len(h)
	}
	for _, r := range rows {
		for i, c := range r {
			width[i] = max(width[i], len(c))
		}
	}
	line := func(r []string) {
		var b strings.Builder
		for i, c := range r {
			if i == len(r)-1 {
				b.WriteString(c)
			} else {
				fmt.Fprintf(&b, "%-*s  ", width[i], c)
			}
		}
		e.outf("%s\n", b.String())
	}
	line(header)
	for _, r := range rows {
		line(r)
	}
}

func runZfs(e *env, args []string) int {
	e.args = args
	if len(args) == 0 {
		zfsUsage(e, "")
		return 2
	}
	switch args[0] {
	case "rename":
		return zfsRename(e, args[1:])
	case "clone":
		return zfsClone(e, args[1:])
	case "promote":
		return zfsPromote(e, args[1:])
	case "set":
		return zfsSet(e, args[1:])
	case "inherit":
		return zfsInherit(e, args[1:])
	case "list":
		return zfsList(e, args[1:])
	case "get":
		return zfsGet(e, args[1:])
	case "snapshot", "snap":
		return zfsSnapshot(e, args[1:])
	case "destroy":
		return zfsDestroy(e, args[1:])
	case "rollback":
		return zfsRollback(e, args[1:])
	}
	e.errf("unrecognized command '%s'\n", args[0])
	zfsUsage(e, "")
	return 2
}

var zfsUsages = map[string]string{
	"list": "\tlist [-Hp] [-r|-d max] [-o property[,...]] [-s property]...\n" +
		"\t    [-S property]... [-t type[,...]] [filesystem|volume|snapshot] ...\n",
	"get": "\tget [-rHp] [-d max] [-o \"all\" | field[,...]]\n" +
		"\t    [-t type[,...]] [-s source[,...]]\n" +
		"\t    <\"all\" | property[,...]> [filesystem|volume|snapshot] ...\n",
	"snapshot": "\tsnapshot [-r] [-o property=value] ... <filesystem|volume>@<snap> ...\n",
	"destroy": "\tdestroy [-fnpRrv] <filesystem|volume>\n" +
		"\tdestroy [-dnpRrv] <filesystem|volume>@<snap>[%<snap>][,...]\n",
	"rollback": "\trollback [-rRf] <snapshot>\n",
	"clone":    "\tclone [-p] [-o property=value] ... <snapshot> <filesystem|volume>\n",
	"promote":  "\tpromote <clone-filesystem>\n",
	"rename": "\trename [-f] <filesystem|volume|snapshot> <filesystem|volume|snapshot>\n" +
		"\trename [-f] -p <filesystem|volume> <filesystem|volume>\n" +
		"\trename -r <snapshot> <snapshot>\n",
	"set":     "\tset <property=value> ... <filesystem|volume|snapshot> ...\n",
	"inherit": "\tinherit [-rS] <property> <filesystem|volume|snapshot> ...\n",
}

// zfsSnapshotUsageOne is the Solaris snapshot usage: one operand (S11.0
// zfs_main.c HELP_SNAPSHOT; the 11.4 synopsis names one snapshot).
const zfsSnapshotUsageOne = "\tsnapshot [-r] [-o property=value] ... <filesystem@snapname|volume@snapname>\n"

// zfsListUsageNoP is the Solaris 11 (2011 source drop) list usage: no -p
// (getopt ":d:o:rt:Hs:S:").
const zfsListUsageNoP = "\tlist [-rH][-d max] [-o property[,...]] [-t type[,...]] [-s property] ...\n" +
	"\t    [-S property] ... [filesystem|volume|snapshot] ...\n"

// zfsUsage prints usage(B_FALSE) to stderr and logs the refusal (its reason
// is the message printed just before); the caller exits 2. A NoListP host
// models Solaris 11.0-11.2, whose usage() ends with "For more info, run:
// zfs help <command>" (docs/platform/zfs.md §1, zfs list -p, S11.0 column).
func zfsUsage(e *env, cmd string) {
	e.refuse(e.lastErr)
	e.errf("usage:\n")
	if u, ok := zfsUsages[cmd]; ok {
		if cmd == "list" && e.s.NoListP {
			u = zfsListUsageNoP
		}
		if cmd == "snapshot" && !e.s.snapshotMany() {
			u = zfsSnapshotUsageOne
		}
		if su, ok := zfsSolarisUsages[cmd]; ok && e.s.isSolaris() {
			u = su
		}
		e.errf("%s", u)
	} else {
		for _, c := range []string{"snapshot", "rollback", "destroy", "list", "get"} {
			e.errf("%s", zfsUsages[c])
		}
	}
	if e.s.NoListP && cmd != "" {
		e.errf("For more info, run: zfs help %s\n", cmd)
	}
}

// zfsNoSuchProp refuses a property Oracle Solaris does not have (written,
// written@<snap>) exactly as docs/platform/zfs.md §1 and §6.3 give it: the
// error line, then "For more info, run: zfs help <command>", exit 2 (the
// S11.0 cell [SRC]; the same two lines appear in Oracle's own test of `zfs
// list -o NAME` on Solaris [FIELD]). No usage text in between.
func zfsNoSuchProp(e *env, cmd, line string) int {
	e.errf("%s\n", line)
	e.refuse(e.lastErr)
	e.errf("For more info, run: zfs help %s\n", cmd)
	return 2
}

// zfsOptError reports a getopt failure the way zfs_main.c does.
func zfsOptError(e *env, cmd string, ge *getoptError) int {
	if ge.missing {
		e.errf("missing argument for '%c' option\n", ge.c)
	} else {
		e.errf("invalid option '%c'\n", ge.c)
	}
	zfsUsage(e, cmd)
	return 2
}

// parseTypes parses -t; ok=false after printing the error. The fs and vol
// aliases exist on Solaris only; illumos and OpenZFS say "invalid type".
func parseTypes(e *env, cmd, arg string) (map[string]bool, bool) {
	types := map[string]bool{}
	alias := e.s.typeAliases()
	for _, t := range strings.Split(arg, ",") {
		switch {
		case t == "fs" && !alias, t == "vol" && !alias:
			e.errf("invalid type '%s'\n", t)
			zfsUsage(e, cmd)
			return nil, false
		}
		switch t {
		case "filesystem", "fs":
			types["filesystem"] = true
		case "volume", "vol":
			types["volume"] = true
		case "snapshot", "snap":
			types["snapshot"] = true
		case "all":
			types["filesystem"], types["volume"], types["snapshot"] = true, true, true
		default:
			e.errf("invalid type '%s'\n", t)
			zfsUsage(e, cmd)
			return nil, false
		}
	}
	return types, true
}

// collect gathers the datasets an iterating command (list, get) visits:
// every operand (or all datasets), plus descendants down to depth
// (-1 = unlimited) filtered by type, sorted like zfs_compare.
func (s *State) collect(e *env, operands []string, depth int, types map[string]bool) ([]dsRef, int) {
	seen := map[string]bool{}
	var refs []dsRef
	add := func(r dsRef) {
		if types[r.typ()] && !seen[r.name()] {
			seen[r.name()] = true
			refs = append(refs, r)
		}
	}
	walk := func(d *Dataset, base int) {
		within := func(n int) bool { return depth < 0 || n <= depth }
		for _, x := range append([]*Dataset{d}, s.children(d.Name)...) {
			n := strings.Count(x.Name, "/") - base
			if !within(n) {
				continue
			}
			add(dsRef{ds: x})
			if within(n + 1) {
				for _, sn := range x.Snapshots {
					add(dsRef{ds: x, snap: sn})
				}
			}
		}
	}
	code := 0
	if len(operands) == 0 {
		for _, d := range s.Datasets {
			if !strings.Contains(d.Name, "/") {
				walk(d, 0)
			}
		}
	}
	for _, op := range operands {
		if p := zfsNameProblem(op, strings.Contains(op, "@")); p != "" {
			e.errf("cannot open '%s': %s\n", op, p)
			code = 1
			continue
		}
		r, ok := s.lookup(op)
		if !ok {
			e.errf("cannot open '%s': dataset does not exist\n", op)
			code = 1
			continue
		}
		if r.snap != nil {
			// A snapshot named explicitly is shown even if -t omits it.
			if !seen[r.name()] {
				seen[r.name()] = true
				refs = append(refs, r)
			}
			continue
		}
		if depth == 0 {
			add(r)
			continue
		}
		walk(r.ds, strings.Count(r.ds.Name, "/"))
	}
	sort.SliceStable(refs, func(i, j int) bool {
		a, b := refs[i], refs[j]
		if a.ds.Name != b.ds.Name {
			return a.ds.Name < b.ds.Name
		}
		if (a.snap == nil) != (b.snap == nil) {
			return a.snap == nil
		}
		if a.snap == nil {
			return false
		}
		return a.snap.CreateTxg < b.snap.CreateTxg
	})
	return refs, code
}

// parseDepth handles -r and -d N: -1 = unlimited, 0 = operands only.
func parseDepth(e *env, cmd string, opts []opt) (int, bool) {
	depth := 0
	if hasOpt(opts, 'r') {
		depth = -1
	}
	if d, ok := lastOpt(opts, 'd'); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n < 0 {
			e.errf("invalid depth '%s'\n", d)
			zfsUsage(e, cmd)
			return 0, false
		}
		depth = n
	}
	return depth, true
}

// sortRefs applies -s/-S keys in order (numeric when both values are
// numbers), keeping the default order among equals.
func (s *State) sortRefs(refs []dsRef, opts []opt) {
	var keys []opt
	for _, o := range opts {
		if o.c == 's' || o.c == 'S' {
			keys = append(keys, o)
		}
	}
	if len(keys) == 0 {
		return
	}
	sort.SliceStable(refs, func(i, j int) bool {
		for _, k := range keys {
			a, _, _ := s.propValue(refs[i], k.arg, true)
			b, _, _ := s.propValue(refs[j], k.arg, true)
			if a == b {
				continue
			}
			less := a < b
			na, errA := strconv.ParseInt(a, 10, 64)
			nb, errB := strconv.ParseInt(b, 10, 64)
			if errA == nil && errB == nil {
				less = na < nb
			}
			if k.c == 'S' {
				return !less
			}
			return less
		}
		return false
	})
}

var columnHeaders = map[string]string{"referenced": "REFER", "available": "AVAIL"}

func zfsList(e *env, args []string) int {
	s := e.s
	optstring := "Hpro:t:d:s:S:"
	if s.NoListP {
		optstring = "Hro:t:d:s:S:" // Solaris 11.0-11.2: ":d:o:rt:Hs:S:"
	}
	opts, operands, ge := getopt(args, optstring)
	if ge != nil {
		return zfsOptError(e, "list", ge)
	}
	// -s/-S are checked while parsing options (zfs_add_sort_column), -o
	// after (zprop_get_list: "bad property list").
	for _, o := range opts {
		if (o.c == 's' || o.c == 'S') && !s.validProp(o.arg) {
			if isWrittenProp(o.arg) {
				return zfsNoSuchProp(e, "list", fmt.Sprintf("invalid property '%s'", o.arg))
			}
			e.errf("invalid property '%s'\n", o.arg)
			zfsUsage(e, "list")
			return 2
		}
	}
	cols := []string{"name", "used", "avail", "refer", "mountpoint"}
	if o, ok := lastOpt(opts, 'o'); ok {
		cols = strings.Split(o, ",")
		for _, c := range cols {
			if !s.validProp(c) {
				if isWrittenProp(c) {
					return zfsNoSuchProp(e, "list", fmt.Sprintf("bad property list: invalid property '%s'", c))
				}
				e.errf("bad property list: invalid property '%s'\n", c)
				zfsUsage(e, "list")
				return 2
			}
		}
	}
	types := map[string]bool{"filesystem": true, "volume": true}
	if t, ok := lastOpt(opts, 't'); ok {
		if types, ok = parseTypes(e, "list", t); !ok {
			return 2
		}
	}
	depth, ok := parseDepth(e, "list", opts)
	if !ok {
		return 2
	}
	if len(operands) == 0 && depth == 0 {
		depth = -1 // no operands: everything
	}
	if s.flavor() == FlavorOpenZFS && len(operands) > 0 && !hasOpt(opts, 'r') && !hasOpt(opts, 'd') &&
		len(types) == 1 && types["snapshot"] {
		// OpenZFS zfs_do_list: -t snapshot with a dataset operand and
		// neither -r nor -d lists that dataset's snapshots (depth 1).
		depth = 1
	}
	refs, code := s.collect(e, operands, depth, types)
	s.sortRefs(refs, opts)
	parsable := hasOpt(opts, 'p')
	var rows [][]string
	for _, r := range refs {
		row := make([]string, len(cols))
		for i, c := range cols {
			v, _, ok := s.propValue(r, c, parsable)
			if !ok {
				v = "-"
			}
			row[i] = v
		}
		rows = append(rows, row)
	}
	scripted := hasOpt(opts, 'H')
	if len(rows) == 0 {
		if !scripted && code == 0 {
			e.outf("no datasets available\n")
		}
		return code
	}
	header := make([]string, len(cols))
	for i, c := range cols {
		if h, ok := columnHeaders[c]; ok {
			header[i] = h
		} else {
			header[i] = strings.ToUpper(c)
		}
	}
	printTable(e, header, rows, scripted)
	return code
}

func zfsGet(e *env, args []string) int {
	opts, operands, ge := getopt(args, "Hprd:o:t:s:")
	if ge != nil {
		return zfsOptError(e, "get", ge)
	}
	s := e.s
	fields := []string{"name", "property", "value", "source"}
	if o, ok := lastOpt(opts, 'o'); ok && o != "all" {
		fields = strings.Split(o, ",")
		for _, f := range fields {
			switch f {
			case "name", "property", "value", "received", "source":
			default:
				e.errf("invalid field '%s'\n", f)
				zfsUsage(e, "get")
				return 2
			}
		}
	} else if ok {
		fields = []string{"name", "property", "value", "received", "source"}
	}
	types := map[string]bool{"filesystem": true, "volume": true, "snapshot": true}
	if t, ok := lastOpt(opts, 't'); ok {
		if types, ok = parseTypes(e, "get", t); !ok {
			return 2
		}
	}
	depth, ok := parseDepth(e, "get", opts)
	if !ok {
		return 2
	}
	sources, ok := parseSources(e, opts)
	if !ok {
		return 2
	}
	if len(operands) == 0 {
		e.errf("missing property argument\n")
		zfsUsage(e, "get")
		return 2
	}
	props := strings.Split(operands[0], ",")
	all := operands[0] == "all"
	if all {
		props = s.allPropsOf()
	}
	for _, p := range props {
		if !s.validProp(p) {
			if isWrittenProp(p) {
				return zfsNoSuchProp(e, "get", fmt.Sprintf("bad property list: invalid property '%s'", p))
			}
			e.errf("bad property list: invalid property '%s'\n", p)
			zfsUsage(e, "get")
			return 2
		}
	}
	targets := operands[1:]
	if len(targets) == 0 && depth == 0 {
		depth = -1
	}
	refs, code := s.collect(e, targets, depth, types)
	parsable := hasOpt(opts, 'p')
	var rows [][]string
	for _, r := range refs {
		rprops := props
		if all {
			// "all" also lists the user properties the dataset has.
			rprops = append(props[:len(props):len(props)], s.userPropNames(r)...)
		}
		for _, p := range rprops {
			v, src, ok := s.propValue(r, p, parsable)
			if !ok {
				if all {
					continue
				}
				v, src = "-", "-"
			}
			if sources != nil && !sources[sourceKind(src)] {
				continue
			}
			row := make([]string, len(fields))
			for i, f := range fields {
				switch f {
				case "name":
					row[i] = r.name()
				case "property":
					row[i] = p
				case "value":
					row[i] = v
				case "received":
					row[i] = "-"
				case "source":
					row[i] = src
				}
			}
			rows = append(rows, row)
		}
	}
	header := make([]string, len(fields))
	for i, f := range fields {
		header[i] = strings.ToUpper(f)
	}
	printTable(e, header, rows, hasOpt(opts, 'H'))
	return code
}

func zfsSnapshot(e *env, args []string) int {
	opts, operands, ge := getopt(args, "ro:")
	if ge != nil {
		return zfsOptError(e, "snapshot", ge)
	}
	s := e.s
	if len(operands) == 0 {
		e.errf("missing snapshot argument\n")
		zfsUsage(e, "snapshot")
		return 2
	}
	if len(operands) > 1 && !s.snapshotMany() {
		// Counted before any operand is opened: nothing is created.
		e.errf("too many arguments\n")
		zfsUsage(e, "snapshot")
		return 2
	}
	type plan struct {
		d    *Dataset
		snap string
	}
	var plans []plan
	for _, op := range operands {
		dsName, snapName, found := strings.Cut(op, "@")
		if !found {
			zfsUsage(e, "snapshot")
			return 2
		}
		d := s.Dataset(dsName)
		if d == nil {
			e.errf("cannot open '%s': dataset does not exist\n", dsName)
			zfsUsage(e, "snapshot")
			return 2
		}
		targets := []*Dataset{d}
		if hasOpt(opts, 'r') {
			targets = append(targets, s.children(dsName)...)
		}
		for _, t := range targets {
			plans = append(plans, plan{t, snapName})
		}
	}
	// Atomic: validate everything before creating anything.
	failed := false
	for _, p := range plans {
		full := p.d.Name + "@" + p.snap
		if prob := zfsNameProblem(full, true); prob != "" {
			e.errf("cannot create snapshot '%s': %s\n", full, prob)
			failed = true
		} else if p.d.Snapshot(p.snap) != nil {
			e.errf("cannot create snapshot '%s': dataset already exists\n", full)
			failed = true
		}
	}
	if failed {
		if len(plans) > 1 {
			e.errf("no snapshots were created\n")
		}
		return 1
	}
	now := s.now()
	txg := s.txg()
	for _, p := range plans {
		p.d.Snapshots = append(p.d.Snapshots, &Snapshot{
			Name:      p.snap,
			Creation:  now,
			CreateTxg: txg,
			Volsize:   p.d.Volsize,
			Data:      append([]byte(nil), p.d.Data...),
			HostData:  cloneHostData(p.d.HostData),
			Label:     p.d.Label.clone(),
		})
	}
	e.logZfs(plans[0].d.Name)
	return 0
}

func zfsDestroy(e *env, args []string) int {
	opts, operands, ge := getopt(args, "rRfnpvd")
	if ge != nil {
		return zfsOptError(e, "destroy", ge)
	}
	s := e.s
	if len(operands) == 0 {
		e.errf("missing dataset argument\n")
		zfsUsage(e, "destroy")
		return 2
	}
	if len(operands) > 1 {
		e.errf("too many arguments\n")
		zfsUsage(e, "destroy")
		return 2
	}
	name := operands[0]
	if dsName, snapName, isSnap := strings.Cut(name, "@"); isSnap {
		d := s.Dataset(dsName)
		if d == nil {
			e.errf("could not find any snapshots to destroy; check snapshot names.\n")
			return 1
		}
		if d.Snapshot(snapName) == nil {
			e.errf("could not find any snapshots to destroy; check snapshot names.\n")
			return 1
		}
		if clones := s.clonesOf(name); len(clones) > 0 {
			// A cloned snapshot goes only with its clones, -R
			// (docs/platform/zfs-clone.md §6).
			if !hasOpt(opts, 'R') {
				snapshotCloned(e, name, clones)
				return 1
			}
			if !s.destroyDatasets(e, s.destroySet(clones, true)) {
				return 1
			}
		}
		d.removeSnapshot(snapName)
		e.logZfs(dsName)
		return 0
	}
	if p := zfsNameProblem(name, false); p != "" {
		e.errf("cannot open '%s': %s\n", name, p)
		return 1
	}
	d := s.Dataset(name)
	if d == nil {
		e.errf("cannot open '%s': dataset does not exist\n", name)
		return 1
	}
	kids := s.children(name)
	recursive := hasOpt(opts, 'r') || hasOpt(opts, 'R')
	if (len(kids) > 0 || len(d.Snapshots) > 0) && !recursive {
		e.errf("cannot destroy '%s': %s has children\n", name, d.Type)
		e.errf("use '-r' to destroy the following datasets:\n")
		for _, k := range kids {
			e.errf("%s\n", k.Name)
		}
		for _, sn := range d.Snapshots {
			e.errf("%s@%s\n", name, sn.Name)
		}
		return 1
	}
	gone := s.destroySet([]*Dataset{d}, hasOpt(opts, 'R'))
	if clones := s.outsideClones(gone); len(clones) > 0 && !hasOpt(opts, 'R') {
		// destroy_check_dependent: with -r, a clone of one of the
		// snapshots is a dependent only -R may take
		// (docs/platform/zfs-clone.md §6).
		e.errf("cannot destroy '%s': %s has dependent clones\n", name, d.Type)
		e.errf("use '-R' to destroy the following datasets:\n")
		for _, c := range clones {
			e.errf("%s\n", c.Name)
		}
		return 1
	}
	if !s.destroyDatasets(e, gone) {
		return 1
	}
	e.logZfs(name)
	return 0
}

func (d *Dataset) removeSnapshot(name string) {
	var keep []*Snapshot
	for _, sn := range d.Snapshots {
		if sn.Name != name {
			keep = append(keep, sn)
		}
	}
	d.Snapshots = keep
}

func zfsRollback(e *env, args []string) int {
	opts, operands, ge := getopt(args, "rRf")
	if ge != nil {
		return zfsOptError(e, "rollback", ge)
	}
	s := e.s
	if len(operands) == 0 {
		e.errf("missing dataset argument\n")
		zfsUsage(e, "rollback")
		return 2
	}
	if len(operands) > 1 {
		e.errf("too many arguments\n")
		zfsUsage(e, "rollback")
		return 2
	}
	name := operands[0]
	if p := zfsNameProblem(name, true); p != "" {
		e.errf("cannot open '%s': %s\n", name, p)
		return 1
	}
	r, ok := s.lookup(name)
	if !ok {
		e.errf("cannot open '%s': dataset does not exist\n", name)
		return 1
	}
	d, target := r.ds, r.snap
	var newer []*Snapshot
	for _, sn := range d.Snapshots {
		if sn.CreateTxg > target.CreateTxg {
			newer = append(newer, sn)
		}
	}
	force := hasOpt(opts, 'r') || hasOpt(opts, 'R')
	if len(newer) > 0 && !force {
		rollbackNewer(e, name, d, newer)
		return 1
	}
	var clones []*Dataset
	for _, sn := range newer {
		clones = append(clones, s.clonesOf(d.Name+"@"+sn.Name)...)
	}
	if len(clones) > 0 {
		// A newer snapshot with clones goes only with -R
		// (docs/platform/zfs-clone.md §6).
		if !hasOpt(opts, 'R') {
			e.errf("cannot rollback to '%s': clones of previous snapshots exist\n", name)
			e.errf("use '-R' to force deletion of the following clones and dependents:\n")
			for _, c := range clones {
				e.errf("%s\n", c.Name)
			}
			return 1
		}
		if !s.destroyDatasets(e, s.destroySet(clones, true)) {
			return 1
		}
	}
	// libzfs destroys the newer snapshots first and only then asks the
	// kernel to roll back, which is where a held zvol fails: the newer
	// snapshots are gone even though the rollback is not done.
	for _, sn := range newer {
		d.removeSnapshot(sn.Name)
	}
	if s.holder(d.Name) != nil {
		e.errf("cannot rollback '%s': dataset is busy\n", d.Name)
		return 1
	}
	d.Data = append([]byte(nil), target.Data...)
	d.HostData = cloneHostData(target.HostData)
	d.Label = target.Label.clone()
	if d.Type == "volume" {
		// libzfs zfs_rollback: a refreservation that matched the volsize
		// follows it.
		if r := d.Refreservation; r != nil && *r == d.Volsize {
			v := target.Volsize
			d.Refreservation = &v
		}
		d.Volsize = target.Volsize
	}
	e.logZfs(d.Name)
	return 0
}

// rollbackNewer prints rollback_check's refusal when newer snapshots exist
// and -r was not given (docs/platform/zfs.md §1, §3.2): Solaris 11
// and older illumos say "more recent snapshots exist" / "... the following
// snapshots:"; illumos-gate with bookmarks and OpenZFS say "more recent
// snapshots or bookmarks exist" / "... the following snapshots and
// bookmarks:"; OpenZFS lists them sorted by createtxg, at most 32.
func rollbackNewer(e *env, name string, d *Dataset, newer []*Snapshot) {
	if e.s.isSolaris() {
		e.errf("cannot rollback to '%s': more recent snapshots exist\n", name)
		e.errf("use '-r' to force deletion of the following snapshots:\n")
	} else {
		e.errf("cannot rollback to '%s': more recent snapshots or bookmarks exist\n", name)
		e.errf("use '-r' to force deletion of the following snapshots and bookmarks:\n")
	}
	if e.s.flavor() == FlavorOpenZFS {
		newer = append([]*Snapshot(nil), newer...)
		sort.SliceStable(newer, func(i, j int) bool { return newer[i].CreateTxg < newer[j].CreateTxg })
		if len(newer) > 32 {
			for _, sn := range newer[:32] {
				e.errf("%s@%s\n", d.Name, sn.Name)
			}
			e.errf("Output limited to 32 snapshots/bookmarks\n")
			return
		}
	}
	for _, sn := range newer {
		e.errf("%s@%s\n", d.Name, sn.Name)
	}
}

// logZfs queues this zfs command line for zpool history of dataset's pool.
// The line is what libzfs logs: the command's name and then argv[1:] joined
// by single spaces (illumos libzfs_pool.c zfs_save_arguments:
// basename(argv[0]) + " " + argv[i]...; Solaris 11 zfs_main.c main:
// zpool_set_history_str("zfs", argc, argv, ...), the same text). runPlatform
// keeps it only if the command exits 0.
func (e *env) logZfs(dataset string) {
	pool, _, _ := strings.Cut(dataset, "/")
	pool, _, _ = strings.Cut(pool, "@")
	e.history = append(e.history, HistoryRecord{
		Time: time.Now().Unix(),
		Pool: pool,
		Cmd:  strings.Join(append([]string{e.name}, e.args...), " "),
	})
}
