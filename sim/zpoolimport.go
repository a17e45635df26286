package sim

import (
	"sort"
	"strconv"
	"strings"
	"time"
)

// zpool import and export of the pools on labelled volumes
// (docs/platform/kz-boot.md §3, §5): in the global zone the pools on the
// disks of this host's LUs, inside a kernel zone (zlogin) the pools on the
// zone's devices. The texts are zpool_main.c's (the Solaris 11 source drop
// and illumos-gate print them alike, kz-boot.md §3).

// poolView is where a zpool command runs: the global zone or a kernel
// zone, with the disks it sees and the pools it has imported.
type poolView struct {
	who      string // "global" or the zone's name
	hostID   string // the host's hostid (State.HostID)
	hostid   uint64 // gethostid() where the command runs
	hostname string
	disks    []*viewDisk
	// names are the pools imported here that no disk of disks stands for
	// (the global zone's dataset pools; a zone's own root pool).
	names []string
	// own is the running zone's boot volume (its root pool is imported).
	own *Dataset
}

// viewDisk is a labelled volume as the view sees it.
type viewDisk struct {
	ds                *Dataset
	path, phys, devid string
}

// importedHere reports whether the view has the disk's pool imported.
func (v *poolView) importedHere(d *Dataset) bool {
	if d == v.own {
		return true
	}
	im := d.Imported
	return im != nil && im.By == v.who && im.HostID == v.hostID
}

// imported returns the names of the pools imported in the view.
func (v *poolView) imported() []string {
	set := map[string]bool{}
	for _, n := range v.names {
		set[n] = true
	}
	for _, d := range v.disks {
		if d.ds != v.own && v.importedHere(d.ds) {
			set[d.ds.Imported.Name] = true
		}
	}
	return sortedKeys(set)
}

// globalView is the global zone: the disks are the labelled volumes behind
// this host's registered, Online LUs with a view (the one-host model of
// State.reach: the host reaches its own LUs over iSCSI loopback), each as
// the multipathed disk c0t<GUID>d0 [kz-boot.md §3]. The storage hosts of a
// fabric are not scanned (kz-boot.md §7).
func globalView(s *State) *poolView {
	hid, _ := hostidNum(s.HostID)
	v := &poolView{who: "global", hostID: s.HostID, hostid: hid, hostname: s.Hostname}
	for _, p := range s.pools() {
		if s.Dataset(p) != nil {
			v.names = append(v.names, p)
		}
	}
	for _, g := range sortedKeys(s.LUs) {
		d := s.reach(lunRef{guid: g}, s.Initiator)
		if d == nil || d.Label == nil {
			continue
		}
		v.disks = append(v.disks, &viewDisk{ds: d, path: vhciDiskPath(g), phys: VhciPhysPath(g), devid: vhciDevID(g)})
	}
	return v
}

// zoneView is a running kernel zone: the disks are its devices' volumes
// (each as /zvnex/zvblk@ID:b), its own root pool is imported as rpool.
func (e *env) zoneView(z *Zone) *poolView {
	v := &poolView{who: z.Name, hostID: e.s.HostID, hostid: z.zoneHostID(), hostname: z.Name}
	boot := z.bootDevice()
	for _, dev := range z.Devices {
		d := e.deviceDisk(dev)
		if d == nil {
			continue
		}
		if dev == boot {
			v.own = d
			name := "rpool"
			if d.Label != nil {
				name = d.Label.Pool
			}
			v.names = append(v.names, name)
		}
		if d.Label != nil {
			v.disks = append(v.disks, &viewDisk{ds: d, path: kzDiskPath(dev.ID), phys: KZPhysPath(dev.ID), devid: kzDevID(dev.ID)})
		}
	}
	return v
}

// candidates are the disks whose pool the view could import: not
// imported here.
func (v *poolView) candidates() []*viewDisk {
	var out []*viewDisk
	for _, d := range v.disks {
		if !v.importedHere(d.ds) {
			out = append(out, d)
		}
	}
	return out
}

// asctime is asctime(3C) of the local time: "Tue Nov 14 22:13:20 2023\n".
func asctime(t int64) string {
	return time.Unix(t, 0).Local().Format("Mon Jan _2 15:04:05 2006") + "\n"
}

// showImport is zpool_main.c show_import for a healthy one-disk pool:
// state ONLINE, the hostid-mismatch status and action when the pool is
// not exported and another host last had it (zpool_import_status
// ZPOOL_STATUS_HOSTID_MISMATCH, msgid ZFS-8000-EY), and the config with
// the disk's name as zpool_vdev_name gives it (/dev/dsk/ stripped), the
// name column as wide as the widest vdev name plus its depth
// (max_width), at least 10.
func showImport(e *env, v *poolView, d *viewDisk) {
	l := d.ds.Label
	e.outf("  pool: %s\n", l.Pool)
	e.outf("    id: %d\n", l.PoolGUID)
	e.outf(" state: ONLINE\n")
	mismatch := l.State != PoolExported && l.HostID != v.hostid
	if mismatch {
		e.outf("status: The pool was last accessed by another system.\n")
		e.outf("action: The pool can be imported using its name or numeric identifier and\n\tthe '-f' flag.\n")
		if e.s.isSolaris() {
			e.outf("   see: http://www.sun.com/msg/ZFS-8000-EY\n")
		} else {
			e.outf("   see: http://illumos.org/msg/ZFS-8000-EY\n")
		}
	} else {
		e.outf("action: The pool can be imported using its name or numeric identifier.\n")
	}
	e.outf("config:\n\n")
	name := strings.TrimPrefix(d.path, "/dev/dsk/")
	width := max(len(name)+2, len("root"), 10)
	e.outf("\t%-*s  %s\n", width, l.Pool, "ONLINE")
	e.outf("\t  %-*s  %s\n", width-2, name, "ONLINE")
}

// zpoolImport is zpool_do_import + do_import for the options the rescue
// needs: -f, -N, -R root, and the temporary name -t (Solaris 11.4: -t
// TEMPNAME, the form of the admin note; illumos: -t flag with the
// name as the second operand, illumos 5882). Any other option is refused
// as not simulated.
func zpoolImport(e *env, v *poolView, args []string) int {
	optstring := ":fNR:t:"
	if !e.s.isSolaris() {
		optstring = ":fNR:t"
	}
	opts, ops, ge := getopt(args, optstring)
	if ge != nil {
		known := strings.IndexByte("aCc:d:DEfFlmnNo:rR:T:VXZt", ge.c) >= 0
		switch {
		case ge.missing:
			e.errf("missing argument for '%c' option\n", ge.c)
		case known:
			e.errf("%s: simulator does not implement 'zpool import -%c'\n", e.name, ge.c)
			e.refuse(e.lastErr)
			return 1
		default:
			e.errf("invalid option '%c'\n", ge.c)
		}
		return zpoolUsage(e, "import")
	}
	if len(ops) > 2 {
		e.errf("too many arguments\n")
		return zpoolUsage(e, "import")
	}
	force := hasOpt(opts, 'f')
	altroot, _ := lastOpt(opts, 'R')
	temp, hasTemp := lastOpt(opts, 't')
	if !e.s.isSolaris() && hasTemp {
		// illumos: -t says the second operand is a temporary name.
		if len(ops) != 2 {
			e.errf("-t requires a new pool name\n") // [UNV] illumos text
			return zpoolUsage(e, "import")
		}
		temp, ops = ops[1], ops[:1]
	}
	if hasTemp && len(ops) == 2 {
		// Solaris: a temporary name and a new name at once. [UNV]
		e.errf("%s: simulator: -t TEMPNAME and a new pool name together are not simulated\n", e.name)
		e.refuse(e.lastErr)
		return 1
	}
	if len(ops) == 0 {
		cands := v.candidates()
		for i, d := range cands {
			if i > 0 {
				e.outf("\n")
			}
			showImport(e, v, d)
		}
		if len(cands) == 0 {
			e.errf("no pools available to import\n")
		}
		return 0
	}
	target := ops[0]
	newname := ""
	if len(ops) == 2 {
		newname = ops[1]
	}
	incore := newname
	if hasTemp {
		incore = temp
	}
	searchGUID, err := strconv.ParseUint(target, 10, 64)
	byGUID := err == nil
	imported := v.imported()
	exists := !byGUID && contains(imported, target)
	var found []*viewDisk
	for _, d := range v.candidates() {
		if (byGUID && d.ds.Label.PoolGUID == searchGUID) || (!byGUID && d.ds.Label.Pool == target) {
			found = append(found, d)
		}
	}
	switch {
	case len(found) > 0 && exists && (incore == "" || incore == target):
		e.errf("cannot import '%s': a pool with that name already exists\n", target)
		e.errf("use the form 'zpool import <pool | id> <newpool>' to give it a new name\n")
		return 1
	case len(found) == 0 && exists:
		e.errf("cannot import '%s': a pool with that name is already created/imported,\n", target)
		e.errf("and no additional pools with that name were found\n")
		return 1
	case len(found) == 0:
		e.errf("cannot import '%s': no such pool available\n", target)
		return 1
	case len(found) > 1:
		e.errf("cannot import '%s': more than one matching pool\n", target)
		e.errf("import by numeric ID instead\n")
		return 1
	}
	d := found[0]
	l := d.ds.Label
	if incore == "" {
		incore = l.Pool
	}
	if l.State != PoolExported && !force && l.HostID != v.hostid {
		e.errf("cannot import '%s': pool may be in use from other system, it was last accessed by %s (hostid: 0x%x) on %s",
			l.Pool, l.Hostname, l.HostID, asctime(l.Time))
		e.errf("use '-f' to import anyway\n")
		return 1
	}
	if p := poolNameProblem(incore); p != "" {
		// [UNV] zpool_import_props: "cannot import '%s' as '%s'" + aux.
		e.errf("cannot import '%s' as '%s': %s\n", l.Pool, incore, p)
		return 1
	}
	if incore != l.Pool && contains(imported, incore) {
		// [UNV] the kernel's EEXIST for the new name.
		e.errf("cannot import '%s' as '%s': pool already exists\n", l.Pool, incore)
		return 1
	}
	if other := d.ds.Imported; other != nil || e.inUseByZone(d.ds, v.who) != "" {
		// Another importer has it (a kernel zone running from it, or a
		// zone or global zone that imported it). A real zpool import -f
		// would import it a second time and corrupt it; the simulator
		// refuses [UNV: kz-boot.md §3].
		who := e.inUseByZone(d.ds, v.who)
		if who == "" {
			who = other.By
		}
		e.errf("cannot import '%s': pool is in use by %s (simulator: a second import of an active pool is refused)\n", l.Pool, who)
		e.refuse(e.lastErr)
		return 1
	}
	l.writeImport(d.path, d.phys, d.devid, v.hostid, v.hostname)
	if newname != "" && !hasTemp {
		l.Pool = newname // a new name is persistent: the label says it
	}
	d.ds.Imported = &PoolImport{By: v.who, HostID: v.hostID, Name: incore, Altroot: altroot}
	return 0
}

// inUseByZone names a ready or running kernel zone (on this host) other
// than the one named except that has the volume as one of its devices, or
// "".
func (e *env) inUseByZone(d *Dataset, except string) string {
	if d == nil {
		return ""
	}
	for _, z := range e.s.Zones {
		if !z.isKZ() || !z.active() || z.Name == except {
			continue
		}
		for _, dev := range z.Devices {
			if e.deviceDisk(dev) == d {
				return "kernel zone " + z.Name
			}
		}
	}
	return ""
}

// zpoolExport is zpool_do_export for pools on labelled volumes imported
// in the view: the label says EXPORTED, one txg later, and the pool is no
// longer imported. The global zone's dataset pools and a zone's own root
// pool are not exported by the simulator.
func zpoolExport(e *env, v *poolView, args []string) int {
	_, ops, ge := getopt(args, "f")
	if ge != nil {
		e.errf("invalid option '%c'\n", ge.c)
		return zpoolUsage(e, "export")
	}
	if len(ops) == 0 {
		e.errf("missing pool argument\n")
		return zpoolUsage(e, "export")
	}
	code := 0
	for _, name := range ops {
		var hit *viewDisk
		for _, d := range v.disks {
			if d.ds != v.own && v.importedHere(d.ds) && d.ds.Imported.Name == name {
				hit = d
			}
		}
		switch {
		case hit != nil:
			hit.ds.Label.writeExport()
			hit.ds.Imported = nil
		case contains(v.names, name):
			e.errf("%s: simulator does not export pool '%s'\n", e.name, name)
			e.refuse(e.lastErr)
			code = 1
		default:
			e.errf("cannot open '%s': no such pool\n", name)
			code = 1
		}
	}
	return code
}

// zoneZpoolList is `zpool list` inside a kernel zone, for -H and -o name.
func zoneZpoolList(e *env, v *poolView, args []string) int {
	opts, ops, ge := getopt(args, "Hpo:")
	if ge != nil {
		e.errf("invalid option '%c'\n", ge.c)
		return zpoolUsage(e, "list")
	}
	if o, ok := lastOpt(opts, 'o'); !ok || o != "name" || len(ops) > 0 {
		e.errf("%s: simulator: inside a zone only 'zpool list [-H] -o name' is simulated\n", e.name)
		e.refuse(e.lastErr)
		return 1
	}
	names := v.imported()
	sort.Strings(names)
	if !hasOpt(opts, 'H') {
		e.outf("NAME\n")
	}
	for _, n := range names {
		e.outf("%s\n", n)
	}
	return 0
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// labelPools are the pools on labelled volumes the global zone of this
// host has imported (zpool list and history show them).
func (s *State) labelPools() []string {
	var out []string
	for _, d := range s.Datasets {
		if im := d.Imported; im != nil && im.By == "global" && im.HostID == s.HostID {
			out = append(out, im.Name)
		}
	}
	return out
}

// labelAltroot is the altroot (-R) of a pool the global zone imported from
// a labelled volume, "" if none.
func (s *State) labelAltroot(pool string) string {
	for _, d := range s.Datasets {
		if im := d.Imported; im != nil && im.By == "global" && im.HostID == s.HostID && im.Name == pool {
			return im.Altroot
		}
	}
	return ""
}
