package sim

// The commands a rollback that keeps what it replaces runs (issue 22):
// zfs rename, clone, promote and set, clones and the origin property,
// user properties, and what a clone changes for destroy and rollback.
// Every text, exit status and refusal here is the platform's, per flavor,
// as docs/platform/zfs-clone.md gives it.

import (
	"fmt"
	"sort"
	"strings"
)

// zfsSolarisUsages are the usage lines Oracle Solaris prints where they
// differ from illumos (S11.0 zfs_main.c get_usage; docs/platform/zfs-clone.md §2).
var zfsSolarisUsages = map[string]string{
	"rename": "\trename <filesystem|volume|snapshot> <filesystem|volume|snapshot>\n" +
		"\trename -p <filesystem|volume> <filesystem|volume>\n" +
		"\trename -r <snapshot> <snapshot>\n",
	"set": "\tset <property=value> <filesystem|volume|snapshot> ...\n",
}

// isUserProp is zfs_prop_user: only a-z, 0-9, '-', '_', '.', ':' and at
// least one ':' (docs/platform/zfs-clone.md §8).
func isUserProp(p string) bool {
	sep := false
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
		case c == ':':
			sep = true
		default:
			return false
		}
	}
	return sep
}

// refres is a volume's refreservation (nil: its volsize).
func (d *Dataset) refres() int64 {
	if d.Refreservation == nil {
		return d.Volsize
	}
	return *d.Refreservation
}

// originOf resolves a clone's origin snapshot.
func (s *State) originOf(d *Dataset) (dsRef, bool) {
	if d.Origin == "" {
		return dsRef{}, false
	}
	r, ok := s.lookup(d.Origin)
	return r, ok && r.snap != nil
}

// unique is what a volume's head holds of its own: all it references,
// or for a clone what changed since its origin snapshot.
func (s *State) unique(r dsRef) int64 {
	if o, ok := s.originOf(r.ds); ok {
		od, oh := o.content()
		return changedSize(r.ds.Data, r.ds.HostData, od, oh)
	}
	return s.referenced(r)
}

// clonesOf returns the datasets whose origin is the snapshot, by name.
func (s *State) clonesOf(snapshot string) []*Dataset {
	var out []*Dataset
	for _, d := range s.Datasets {
		if d.Origin == snapshot {
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// userPropValue is a user property with its source: set on the dataset
// (or snapshot) itself "local", else "inherited from" the nearest
// ancestor that has it; ok=false when none has it (docs/platform/zfs-clone.md §8).
func (s *State) userPropValue(r dsRef, prop string) (string, string, bool) {
	if r.snap != nil {
		if v, ok := r.snap.UserProps[prop]; ok {
			return v, "local", true
		}
	}
	for name := r.ds.Name; ; {
		if d := s.Dataset(name); d != nil {
			if v, ok := d.UserProps[prop]; ok {
				if d == r.ds && r.snap == nil {
					return v, "local", true
				}
				return v, "inherited from " + name, true
			}
		}
		i := strings.LastIndex(name, "/")
		if i < 0 {
			return "", "", false
		}
		name = name[:i]
	}
}

// userPropNames are the user properties r has, own or inherited, sorted.
func (s *State) userPropNames(r dsRef) []string {
	seen := map[string]bool{}
	if r.snap != nil {
		for k := range r.snap.UserProps {
			seen[k] = true
		}
	}
	for name := r.ds.Name; ; {
		if d := s.Dataset(name); d != nil {
			for k := range d.UserProps {
				seen[k] = true
			}
		}
		i := strings.LastIndex(name, "/")
		if i < 0 {
			break
		}
		name = name[:i]
	}
	return sortedKeys(seen)
}

// parseSources is zfs get -s: the last -s wins, each source one of the
// six names; nil means every source (docs/platform/zfs-clone.md §7).
func parseSources(e *env, opts []opt) (map[string]bool, bool) {
	v, ok := lastOpt(opts, 's')
	if !ok {
		return nil, true
	}
	sources := map[string]bool{}
	for _, src := range strings.Split(v, ",") {
		switch src {
		case "local", "default", "inherited", "temporary", "received", "none":
			sources[src] = true
		default:
			e.errf("invalid source '%s'\n", src)
			zfsUsage(e, "get")
			return nil, false
		}
	}
	return sources, true
}

// sourceKind maps a printed source to its -s name.
func sourceKind(src string) string {
	switch {
	case src == "-" || src == "":
		return "none"
	case strings.HasPrefix(src, "inherited"):
		return "inherited"
	}
	return src
}

// snapshotCloned refuses destroying a snapshot that has clones without
// -R: S11.0 zfs_main.c destroy_check_dependent lists the clones; illumos
// and OpenZFS libzfs zfs_destroy_snaps_nvl say "snapshot is cloned" (docs/platform/zfs-clone.md §6).
func snapshotCloned(e *env, name string, clones []*Dataset) {
	if e.s.isSolaris() {
		e.errf("cannot destroy '%s': snapshot has dependent clones\n", name)
		e.errf("use '-R' to destroy the following datasets:\n")
		for _, c := range clones {
			e.errf("%s\n", c.Name)
		}
		return
	}
	e.errf("cannot destroy snapshot %s: snapshot is cloned\n", name)
}

// destroySet is what destroying roots takes: each with its descendants,
// and with withClones (-R) every clone of any of their snapshots, with
// its own, again.
func (s *State) destroySet(roots []*Dataset, withClones bool) map[string]bool {
	gone := map[string]bool{}
	var add func(d *Dataset)
	add = func(d *Dataset) {
		if gone[d.Name] {
			return
		}
		gone[d.Name] = true
		for _, k := range s.children(d.Name) {
			add(k)
		}
		if withClones {
			for _, x := range append([]*Dataset{d}, s.children(d.Name)...) {
				for _, sn := range x.Snapshots {
					for _, c := range s.clonesOf(x.Name + "@" + sn.Name) {
						add(c)
					}
				}
			}
		}
	}
	for _, r := range roots {
		add(r)
	}
	return gone
}

// outsideClones are the clones of snapshots in gone that are not in it.
func (s *State) outsideClones(gone map[string]bool) []*Dataset {
	var out []*Dataset
	seen := map[string]bool{}
	for _, d := range s.Datasets {
		if !gone[d.Name] {
			continue
		}
		for _, sn := range d.Snapshots {
			for _, c := range s.clonesOf(d.Name + "@" + sn.Name) {
				if !gone[c.Name] && !seen[c.Name] {
					seen[c.Name] = true
					out = append(out, c)
				}
			}
		}
	}
	return out
}

// destroyDatasets removes the datasets in gone, or none of them when one
// is held open by an LU ("dataset is busy").
func (s *State) destroyDatasets(e *env, gone map[string]bool) bool {
	for _, x := range s.Datasets {
		if gone[x.Name] && s.holder(x.Name) != nil {
			e.errf("cannot destroy '%s': dataset is busy\n", x.Name)
			return false
		}
	}
	var keep []*Dataset
	for _, x := range s.Datasets {
		if !gone[x.Name] {
			keep = append(keep, x)
		}
	}
	s.Datasets = keep
	return true
}

// Types an operand may be opened as (zfs_open's type mask).
const (
	openSnapshot = 1 << iota
	openDataset  // filesystem or volume
	openAny      = openSnapshot | openDataset
)

// open is zfs_open: a bad name, a missing dataset or one of another type
// is "cannot open 'NAME': ...".
func (s *State) open(e *env, name string, types int) (dsRef, bool) {
	if p := zfsNameProblem(name, strings.Contains(name, "@")); p != "" {
		e.errf("cannot open '%s': %s\n", name, p)
		return dsRef{}, false
	}
	r, ok := s.lookup(name)
	if !ok {
		e.errf("cannot open '%s': dataset does not exist\n", name)
		return dsRef{}, false
	}
	if (r.snap != nil && types&openSnapshot == 0) || (r.snap == nil && types&openDataset == 0) {
		e.errf("cannot open '%s': operation not applicable to datasets of this type\n", name)
		return dsRef{}, false
	}
	return r, true
}

// checkParents is libzfs check_parents for a dataset to be created or
// renamed to: its pool and parent exist and the parent is a filesystem.
func (s *State) checkParents(e *env, errbuf, target string) bool {
	i := strings.LastIndex(target, "/")
	if i < 0 {
		e.errf("%s: missing dataset name\n", errbuf)
		return false
	}
	pool, _, _ := strings.Cut(target, "/")
	if s.Dataset(pool) == nil {
		e.errf("%s: no such pool '%s'\n", errbuf, pool)
		return false
	}
	p := s.Dataset(target[:i])
	if p == nil {
		e.errf("%s: parent does not exist\n", errbuf)
		return false
	}
	if p.Type != "filesystem" {
		e.errf("%s: parent is not a filesystem\n", errbuf)
		return false
	}
	return true
}

// createAncestors is -p: the missing filesystems above target.
func (s *State) createAncestors(e *env, target string) bool {
	pool, _, _ := strings.Cut(target, "/")
	if s.Dataset(pool) == nil {
		e.errf("cannot create '%s': no such pool '%s'\n", target, pool)
		return false
	}
	parts := strings.Split(target, "/")
	for n := 2; n < len(parts); n++ {
		name := strings.Join(parts[:n], "/")
		if d := s.Dataset(name); d != nil {
			continue
		}
		s.Datasets = append(s.Datasets, &Dataset{Name: name, Type: "filesystem", Creation: s.now(), CreateTxg: s.txg()})
	}
	return true
}

// zfsPropInfo is what the simulated zfs knows of a native property: the
// types it applies to ("f" filesystem, "v" volume, "s" snapshot), and
// whether it is read-only or settable only at creation (zfs_prop.c).
type zfsPropInfo struct {
	types    string
	readonly bool
	setonce  bool
}

var zfsPropTable = map[string]zfsPropInfo{
	"name": {"fvs", true, false}, "type": {"fvs", true, false}, "creation": {"fvs", true, false},
	"used": {"fvs", true, false}, "available": {"fv", true, false}, "avail": {"fv", true, false},
	"referenced": {"fvs", true, false}, "refer": {"fvs", true, false}, "createtxg": {"fvs", true, false},
	"written": {"fvs", true, false}, "origin": {"fv", true, false}, "userrefs": {"s", true, false},
	"clones": {"s", true, false}, "volblocksize": {"v", true, true}, "volsize": {"v", false, false},
	"refreservation": {"fv", false, false}, "mountpoint": {"f", false, false},
	// stmf_sbd_lu is hidden but not read-only (zfs_prop.c
	// zprop_register_hidden, PROP_INHERIT; docs/platform/zfs-clone.md §5).
	"stmf_sbd_lu": {"v", false, false},
}

// checkProp is zfs_valid_proplist for one property set on target (a
// dataset for zfs set; for zfs clone the origin snapshot, whose volsize
// bounds refreservation) as type typ; it returns what setting it does, or
// false after printing "<errbuf>: <why>" (docs/platform/zfs-clone.md §4 and §8).
func checkProp(e *env, errbuf string, target dsRef, typ, name, value string) (func(d *Dataset, sn *Snapshot), bool) {
	fail := func(format string, a ...any) (func(*Dataset, *Snapshot), bool) {
		e.errf("%s: %s\n", errbuf, fmt.Sprintf(format, a...))
		return nil, false
	}
	if isUserProp(name) {
		if len(name) >= 256 {
			return fail("property name '%s' is too long", name)
		}
		return func(d *Dataset, sn *Snapshot) {
			if sn != nil {
				if sn.UserProps == nil {
					sn.UserProps = map[string]string{}
				}
				sn.UserProps[name] = value
				return
			}
			if d.UserProps == nil {
				d.UserProps = map[string]string{}
			}
			d.UserProps[name] = value
		}, true
	}
	if typ == "snapshot" {
		return fail("this property can not be modified for snapshots")
	}
	if isWrittenProp(name) && e.s.hasWritten() {
		return fail("'%s' is readonly", name)
	}
	info, known := zfsPropTable[name]
	if !known || (name == "written" && !e.s.hasWritten()) {
		return fail("invalid property '%s'", name)
	}
	if !strings.Contains(info.types, typ[:1]) {
		return fail("'%s' does not apply to datasets of this type", name)
	}
	if info.readonly {
		// zhp is never NULL here (zfs set, zfs clone): set-once
		// properties such as volblocksize are read-only too.
		return fail("'%s' is readonly", name)
	}
	switch name {
	case "mountpoint":
		if value != "none" && value != "legacy" && !strings.HasPrefix(value, "/") {
			return fail("'%s' must be an absolute path, 'none', or 'legacy'", name)
		}
		return func(*Dataset, *Snapshot) {}, true
	case "stmf_sbd_lu":
		return func(d *Dataset, _ *Snapshot) {
			if d.Props == nil {
				d.Props = map[string]string{}
			}
			d.Props[name] = value
		}, true
	}
	// volsize and refreservation: numbers, checked against the volume
	// (for a clone, the snapshot) as it is.
	var n int64
	if name == "refreservation" && value == "none" {
		n = 0
	} else {
		v, ok := niceStrToNum(value)
		if !ok {
			return fail("bad numeric value '%s'", value)
		}
		n = v
	}
	volsize := target.ds.Volsize
	if target.snap != nil {
		volsize = target.snap.Volsize
	}
	if typ == "volume" {
		switch name {
		case "refreservation":
			if n > volsize {
				return fail("'%s' is greater than current volume size", name)
			}
		case "volsize":
			if n%blockSize != 0 {
				return fail("'%s' must be a multiple of volume block size (%s)", name, nicenum(blockSize))
			}
			if n == 0 {
				return fail("'%s' cannot be zero", name)
			}
		}
	}
	return func(d *Dataset, _ *Snapshot) {
		if name == "refreservation" {
			d.Refreservation = &n
			return
		}
		// zfs set volsize: a refreservation that matched the volsize
		// follows it (libzfs zfs_add_synthetic_resv).
		if r := d.Refreservation; r != nil && *r == d.Volsize {
			v := n
			d.Refreservation = &v
		}
		d.Volsize = n
	}, true
}

// zfsRename is `zfs rename [-fp] FROM TO` (and -r for snapshots): docs/platform/zfs-clone.md §2.
func zfsRename(e *env, args []string) int {
	s := e.s
	optstring := "fpr"
	if s.isSolaris() {
		optstring = "pr" // S11.0 zfs_do_rename; -f is illumos's
	}
	opts, ops, ge := getopt(args, optstring)
	if ge != nil {
		return zfsOptError(e, "rename", ge)
	}
	parents, recursive := hasOpt(opts, 'p'), hasOpt(opts, 'r')
	switch {
	case parents && recursive:
		e.errf("-p and -r options are mutually exclusive\n")
	case len(ops) < 1:
		e.errf("missing source dataset argument\n")
	case len(ops) < 2:
		e.errf("missing target dataset argument\n")
	case len(ops) > 2:
		e.errf("too many arguments\n")
	default:
		return zfsRenameOne(e, ops[0], ops[1], parents, recursive)
	}
	zfsUsage(e, "rename")
	return 2
}

func zfsRenameOne(e *env, from, to string, parents, recursive bool) int {
	s := e.s
	types := openAny
	if parents {
		types = openDataset
	}
	r, ok := s.open(e, from, types)
	if !ok {
		return 1
	}
	if parents && zfsNameProblem(to, false) == "" && s.Dataset(to) == nil {
		if !s.createAncestors(e, to) {
			return 1
		}
	}
	if from == to {
		e.logZfs(from)
		return 0
	}
	toErr := fmt.Sprintf("cannot rename to '%s'", to)
	if r.snap != nil {
		return zfsRenameSnapshot(e, r, to, toErr, recursive)
	}
	if recursive {
		e.errf("%s: recursive rename must be a snapshot\n", toErr)
		return 1
	}
	if p := zfsNameProblem(to, false); p != "" {
		e.errf("%s: %s\n", toErr, p)
		return 1
	}
	if !s.checkParents(e, toErr, to) {
		return 1
	}
	fromPool, _, _ := strings.Cut(from, "/")
	toPool, _, _ := strings.Cut(to, "/")
	if fromPool != toPool {
		e.errf("%s: datasets must be within same pool\n", toErr)
		return 1
	}
	if strings.HasPrefix(to, from+"/") {
		e.errf("%s: New dataset name cannot be a descendant of current dataset name\n", toErr)
		return 1
	}
	if s.Dataset(to) != nil {
		e.errf("cannot rename '%s': dataset already exists\n", from)
		return 1
	}
	if s.isSolaris() {
		// An open zvol holds its dsl_dir: dsl_dir_rename_check refuses
		// EBUSY (S11.0-era source; 11.4 [UNV], docs/platform/zfs-clone.md §3).
		for _, x := range append([]*Dataset{r.ds}, s.children(from)...) {
			if s.holder(x.Name) != nil {
				e.errf("cannot rename '%s': dataset is busy\n", from)
				return 1
			}
		}
	}
	s.renameTree(from, to)
	e.logZfs(to)
	return 0
}

// zfsRenameSnapshot renames DS@A to DS@B (or "@B" or "B"), within the
// same dataset; -r does it for the descendants that have DS@A too.
func zfsRenameSnapshot(e *env, r dsRef, to, toErr string, recursive bool) int {
	s := e.s
	if !strings.Contains(to, "@") || strings.HasPrefix(to, "@") {
		to = r.ds.Name + "@" + strings.TrimPrefix(to, "@")
		toErr = fmt.Sprintf("cannot rename to '%s'", to)
	} else if ds, _, _ := strings.Cut(to, "@"); ds != r.ds.Name {
		e.errf("%s: snapshots must be part of same dataset\n", toErr)
		return 1
	}
	if p := zfsNameProblem(to, true); p != "" {
		e.errf("%s: %s\n", toErr, p)
		return 1
	}
	_, newName, _ := strings.Cut(to, "@")
	oldName := r.snap.Name
	targets := []*Dataset{r.ds}
	if recursive {
		for _, c := range s.children(r.ds.Name) {
			if c.Snapshot(oldName) != nil {
				targets = append(targets, c)
			}
		}
	}
	for _, d := range targets {
		if d.Snapshot(newName) != nil {
			if recursive {
				e.errf("cannot rename '%s@%s': a child dataset already has a snapshot with the new name\n", d.Name, oldName)
			} else {
				e.errf("cannot rename '%s@%s': dataset already exists\n", d.Name, oldName)
			}
			return 1
		}
	}
	for _, d := range targets {
		for _, c := range s.clonesOf(d.Name + "@" + oldName) {
			c.Origin = d.Name + "@" + newName
		}
		d.Snapshot(oldName).Name = newName
	}
	e.logZfs(r.ds.Name)
	return 0
}

// renameTree renames a dataset and its descendants, with the origins of
// their clones; an LU holding one of them open keeps holding it under the
// new name (illumos and OpenZFS rename an open zvol, docs/platform/zfs-clone.md §3).
func (s *State) renameTree(from, to string) {
	moved := func(name string) (string, bool) {
		if name == from || strings.HasPrefix(name, from+"/") {
			return to + name[len(from):], true
		}
		return name, false
	}
	for _, g := range sortedKeys(s.LUs) {
		lu := s.LUs[g]
		if name, ok := lu.zvolName(); ok && lu.active() {
			if n, m := moved(name); m {
				lu.Held = n
			}
		}
	}
	for _, d := range s.Datasets {
		d.Name, _ = moved(d.Name)
		if ds, sn, ok := strings.Cut(d.Origin, "@"); ok {
			if n, m := moved(ds); m {
				d.Origin = n + "@" + sn
			}
		}
	}
}

// zfsClone is `zfs clone [-p] [-o prop=value]... SNAPSHOT TARGET`: docs/platform/zfs-clone.md §4.
func zfsClone(e *env, args []string) int {
	s := e.s
	opts, ops, ge := getopt(args, "o:p")
	if ge != nil {
		return zfsOptError(e, "clone", ge)
	}
	props := map[string]string{}
	var order []string
	for _, o := range opts {
		if o.c != 'o' {
			continue
		}
		k, v, ok := strings.Cut(o.arg, "=")
		if !ok {
			e.errf("missing '=' for -o option\n")
			return 1
		}
		if _, dup := props[k]; dup {
			e.errf("property '%s' specified multiple times\n", k)
			return 1
		}
		props[k] = v
		order = append(order, k)
	}
	switch {
	case len(ops) < 1:
		e.errf("missing source dataset argument\n")
	case len(ops) < 2:
		e.errf("missing target dataset argument\n")
	case len(ops) > 2:
		e.errf("too many arguments\n")
	default:
		goto run
	}
	zfsUsage(e, "clone")
	return 2
run:
	src, target := ops[0], ops[1]
	r, ok := s.open(e, src, openSnapshot)
	if !ok {
		return 1
	}
	if hasOpt(opts, 'p') && zfsNameProblem(target, false) == "" {
		if s.Dataset(target) != nil {
			return 0 // -p: an existing target is not an error
		}
		if !s.createAncestors(e, target) {
			return 1
		}
	}
	errbuf := fmt.Sprintf("cannot create '%s'", target)
	if p := zfsNameProblem(target, false); p != "" {
		e.errf("%s: %s\n", errbuf, p)
		return 1
	}
	if !s.checkParents(e, errbuf, target) {
		return 1
	}
	var sets []func(*Dataset, *Snapshot)
	for _, k := range order {
		set, ok := checkProp(e, errbuf, r, r.ds.Type, k, props[k])
		if !ok {
			return 1
		}
		sets = append(sets, set)
	}
	if s.Dataset(target) != nil {
		e.errf("%s: dataset already exists\n", errbuf)
		return 1
	}
	srcPool, _, _ := strings.Cut(src, "/")
	dstPool, _, _ := strings.Cut(target, "/")
	if srcPool != dstPool {
		e.errf("%s: source and target pools differ\n", errbuf)
		return 1
	}
	// The clone has the snapshot's content (data and kernel-zone host
	// data) and volsize, and none of the origin's properties: they live
	// in the origin's dsl_dir, stmf_sbd_lu among them (docs/platform/zfs-clone.md §5).
	var none int64
	c := &Dataset{
		Name: target, Type: r.ds.Type, Creation: s.now(), CreateTxg: s.txg(),
		Volsize: r.snap.Volsize, Data: append([]byte(nil), r.snap.Data...),
		HostData: cloneHostData(r.snap.HostData), Origin: r.name(),
		Label: r.snap.Label.clone(),
	}
	if c.Type == "volume" {
		c.Refreservation = &none
	}
	for _, set := range sets {
		set(c, nil)
	}
	s.Datasets = append(s.Datasets, c)
	e.logZfs(target)
	return 0
}

// zfsPromote is `zfs promote CLONE`: the origin's snapshots up to and
// including the origin snapshot move to the clone, and the origin's
// dataset becomes a clone of the promoted one's snapshot (docs/platform/zfs-clone.md §5).
func zfsPromote(e *env, args []string) int {
	s := e.s
	if len(args) > 0 && len(args[0]) > 1 && args[0][0] == '-' {
		e.errf("invalid option '%c'\n", args[0][1])
		zfsUsage(e, "promote")
		return 2
	}
	switch {
	case len(args) < 1:
		e.errf("missing clone filesystem argument\n")
		zfsUsage(e, "promote")
		return 2
	case len(args) > 1:
		e.errf("too many arguments\n")
		zfsUsage(e, "promote")
		return 2
	}
	name := args[0]
	r, ok := s.open(e, name, openDataset)
	if !ok {
		return 1
	}
	d := r.ds
	errbuf := fmt.Sprintf("cannot promote '%s'", name)
	o, ok := s.originOf(d)
	if !ok {
		e.errf("%s: not a cloned filesystem\n", errbuf)
		return 1
	}
	head, idx := o.ds, o.snapIndex()
	if s.isSolaris() && (s.holder(d.Name) != nil || s.holder(head.Name) != nil) {
		// illumos checks only that no moving snapshot is long-held;
		// Solaris 11.4 is [UNV]: refused here (docs/platform/zfs-clone.md §5).
		e.errf("%s: dataset is busy\n", errbuf)
		return 1
	}
	// dsl_dataset_promote_check walks the moving snapshots from the
	// origin snapshot back and stops at the first name the clone has.
	for i := idx; i >= 0; i-- {
		if sn := head.Snapshots[i]; d.Snapshot(sn.Name) != nil {
			e.errf("%s: conflicting snapshot '%s' from parent '%s'\n", errbuf, sn.Name, d.Origin)
			return 1
		}
	}
	moved := append([]*Snapshot(nil), head.Snapshots[:idx+1]...)
	movedName := map[string]bool{}
	for _, sn := range moved {
		movedName[head.Name+"@"+sn.Name] = true
	}
	for _, x := range s.Datasets {
		if x != d && movedName[x.Origin] {
			x.Origin = d.Name + x.Origin[len(head.Name):]
		}
	}
	headOrigin := head.Origin
	head.Origin = d.Name + "@" + o.snap.Name
	d.Origin = headOrigin
	d.Snapshots = append(moved, d.Snapshots...)
	head.Snapshots = append([]*Snapshot(nil), head.Snapshots[idx+1:]...)
	e.logZfs(name)
	return 0
}

// zfsSet is `zfs set PROP=VALUE DATASET...` (docs/platform/zfs-clone.md §8).
func zfsSet(e *env, args []string) int {
	s := e.s
	if len(args) > 0 && len(args[0]) > 1 && args[0][0] == '-' {
		e.errf("invalid option '%c'\n", args[0][1])
		zfsUsage(e, "set")
		return 2
	}
	if len(args) < 1 {
		e.errf("missing property=value argument\n")
		zfsUsage(e, "set")
		return 2
	}
	if len(args) < 2 {
		e.errf("missing dataset name\n")
		zfsUsage(e, "set")
		return 2
	}
	name, value, found := strings.Cut(args[0], "=")
	if !found || value == "" {
		e.errf("missing value in property=value argument\n")
		zfsUsage(e, "set")
		return 2
	}
	if name == "" {
		e.errf("missing property in property=value argument\n")
		zfsUsage(e, "set")
		return 2
	}
	code := 0
	for _, op := range args[1:] {
		r, ok := s.open(e, op, openAny)
		if !ok {
			code = 1
			continue
		}
		set, ok := checkProp(e, fmt.Sprintf("cannot set property for '%s'", op), r, r.typ(), name, value)
		if !ok {
			code = 1
			continue
		}
		set(r.ds, r.snap)
	}
	if code == 0 {
		e.logZfs(args[1])
	}
	return code
}

// zfsInherit is `zfs inherit [-rS] PROP DATASET...`: a user property's
// local value goes (inherited from above again, or unset); zfs_do_inherit
// refuses read-only and non-inheritable native properties itself (docs/platform/zfs-clone.md §8).
func zfsInherit(e *env, args []string) int {
	s := e.s
	opts, ops, ge := getopt(args, "rS")
	if ge != nil {
		return zfsOptError(e, "inherit", ge)
	}
	switch {
	case len(ops) < 1:
		e.errf("missing property argument\n")
	case len(ops) < 2:
		e.errf("missing dataset argument\n")
	default:
		goto run
	}
	zfsUsage(e, "inherit")
	return 2
run:
	prop := ops[0]
	if info, known := zfsPropTable[prop]; known && !isUserProp(prop) {
		if info.readonly {
			e.errf("%s property is read-only\n", prop)
			return 1
		}
		// None of the native properties the simulator knows is
		// inheritable (volsize, refreservation, mountpoint aside: the
		// simulated mountpoint is always the default).
		e.errf("'%s' property cannot be inherited\n", prop)
		if prop == "refreservation" {
			e.errf("use 'zfs set %s=none' to clear\n", prop)
		}
		return 1
	} else if !isUserProp(prop) {
		e.errf("invalid property '%s'\n", prop)
		zfsUsage(e, "inherit")
		return 2
	}
	code := 0
	for _, op := range ops[1:] {
		r, ok := s.open(e, op, openAny)
		if !ok {
			code = 1
			continue
		}
		if r.snap != nil {
			delete(r.snap.UserProps, prop)
			continue
		}
		targets := []*Dataset{r.ds}
		if hasOpt(opts, 'r') {
			targets = append(targets, s.children(r.ds.Name)...)
		}
		for _, d := range targets {
			delete(d.UserProps, prop)
			if len(d.UserProps) == 0 {
				d.UserProps = nil
			}
		}
	}
	if code == 0 {
		e.logZfs(ops[1])
	}
	return code
}
