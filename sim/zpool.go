package sim

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// zpool: history and list, as illumos-gate usr/src/cmd/zpool/zpool_main.c
// (@8dd29de9) prints them. The Solaris 11 source drop
// (Arquivotheca/solaris11 zpool_main.c get_history_one) and OpenZFS print
// history in the same format, so every flavor shares it.

// zpoolUsages are zpool_main.c get_usage() texts, in command_table order
// (an empty string is the blank line between groups in the full usage).
var zpoolUsages = []struct{ name, usage string }{
	{"create", "\tcreate [-fnd] [-o property=value] ... \n" +
		"\t    [-O file-system-property=value] ... \n" +
		"\t    [-m mountpoint] [-R root] <pool> <vdev> ...\n"},
	{"destroy", "\tdestroy [-f] <pool>\n"},
	{"", ""},
	{"add", "\tadd [-fn] <pool> <vdev> ...\n"},
	{"remove", "\tremove <pool> <device> ...\n"},
	{"", ""},
	{"list", "\tlist [-Hp] [-o property[,...]] [-T d|u] [pool] ... [interval [count]]\n"},
	{"iostat", "\tiostat [-v] [-T d|u] [pool] ... [interval [count]]\n"},
	{"status", "\tstatus [-vx] [-T d|u] [pool] ... [interval [count]]\n"},
	{"", ""},
	{"online", "\tonline <pool> <device> ...\n"},
	{"offline", "\toffline [-t] <pool> <device> ...\n"},
	{"clear", "\tclear [-nF] <pool> [device]\n"},
	{"reopen", "\treopen <pool>\n"},
	{"", ""},
	{"attach", "\tattach [-f] <pool> <device> <new-device>\n"},
	{"detach", "\tdetach <pool> <device>\n"},
	{"replace", "\treplace [-f] <pool> <device> [new-device]\n"},
	{"split", "\tsplit [-n] [-R altroot] [-o mntopts]\n" +
		"\t    [-o property=value] <pool> <newpool> [<device> ...]\n"},
	{"", ""},
	{"scrub", "\tscrub [-s] <pool> ...\n"},
	{"", ""},
	{"import", "\timport [-d dir] [-D]\n" +
		"\timport [-d dir | -c cachefile] [-F [-n]] <pool | id>\n" +
		"\timport [-o mntopts] [-o property=value] ... \n" +
		"\t    [-d dir | -c cachefile] [-D] [-f] [-m] [-N] [-R root] [-F [-n]] -a\n" +
		"\timport [-o mntopts] [-o property=value] ... \n" +
		"\t    [-d dir | -c cachefile] [-D] [-f] [-m] [-N] [-R root] [-F [-n]]\n" +
		"\t    <pool | id> [newpool]\n"},
	{"export", "\texport [-f] <pool> ...\n"},
	{"upgrade", "\tupgrade\n\tupgrade -v\n\tupgrade [-V version] <-a | pool ...>\n"},
	{"reguid", "\treguid <pool>\n"},
	{"", ""},
	{"history", "\thistory [-il] [<pool>] ...\n"},
	{"get", "\tget [-Hp] [-o \"all\" | field[,...]] <\"all\" | property[,...]> <pool> ...\n"},
	{"set", "\tset <property=value> <pool> \n"},
}

// zpoolUsage is usage(B_FALSE): the subcommand's usage, or with cmd ""
// the whole table; exit 2. (The property table zpool prints after the
// usage of list/get/set is left out.)
func zpoolUsage(e *env, cmd string) int {
	e.refuse(e.lastErr)
	if cmd == "" {
		e.errf("usage: zpool command args ...\n")
		e.errf("where 'command' is one of the following:\n\n")
		for _, u := range zpoolUsages {
			if u.name == "" {
				e.errf("\n")
			} else {
				e.errf("%s", u.usage)
			}
		}
		return 2
	}
	e.errf("usage:\n")
	for _, u := range zpoolUsages {
		if u.name == cmd {
			e.errf("%s", u.usage)
		}
	}
	return 2
}

func runZpool(e *env, args []string) int {
	if len(args) == 0 {
		e.errf("missing command\n")
		return zpoolUsage(e, "")
	}
	switch args[0] {
	case "import":
		return zpoolImport(e, globalView(e.s), args[1:])
	case "export":
		return zpoolExport(e, globalView(e.s), args[1:])
	case "history":
		return zpoolHistory(e, args[1:])
	case "list":
		return zpoolList(e, args[1:])
	}
	for _, u := range zpoolUsages {
		if u.name != "" && u.name == args[0] {
			e.errf("%s: simulator does not implement 'zpool %s'\n", e.name, args[0])
			e.refuse(e.lastErr)
			return 1
		}
	}
	e.errf("unrecognized command '%s'\n", args[0])
	return zpoolUsage(e, "")
}

// pools returns the pool names (top-level datasets), sorted.
func (s *State) pools() []string {
	var out []string
	for _, d := range s.Datasets {
		if !strings.Contains(d.Name, "/") {
			out = append(out, d.Name)
		}
	}
	out = append(out, s.labelPools()...) // zpoolimport.go
	sort.Strings(out)
	return out
}

// poolNameProblem is pool_namecheck + zpool_name_valid's aux text for an
// existing pool's name ("" if valid).
func poolNameProblem(name string) string {
	if len(name) >= 256 {
		return "name is too long"
	}
	for i := 0; i < len(name); i++ {
		if !validNameChar(name[i]) {
			return fmt.Sprintf("invalid character '%c' in pool name", name[i])
		}
	}
	if name == "" || !(name[0] >= 'a' && name[0] <= 'z' || name[0] >= 'A' && name[0] <= 'Z') {
		return "name must begin with a letter"
	}
	if name == "mirror" || name == "raidz" {
		return "name is reserved"
	}
	if name[0] == 'c' && len(name) > 1 && name[1] >= '0' && name[1] <= '9' {
		return "pool name is reserved"
	}
	return ""
}

// selectPools is zpool_iter.c for_each_pool/pool_list_get: no operands = all
// pools; each operand that is not a pool prints libzfs's "cannot open" and
// makes the exit status 1; the pools are visited sorted by name (AVL tree
// keyed by name), each once.
func (s *State) selectPools(e *env, operands []string) ([]string, int) {
	if len(operands) == 0 {
		return s.pools(), 0
	}
	known := map[string]bool{}
	for _, p := range s.pools() {
		known[p] = true
	}
	set := map[string]bool{}
	code := 0
	for _, op := range operands {
		switch p := poolNameProblem(op); {
		case p != "":
			e.errf("cannot open '%s': %s\n", op, p)
			code = 1
		case !known[op]:
			// zpool_open_canfail: zfs_error_aux "no such pool", EZFS_NOENT.
			e.errf("cannot open '%s': no such pool\n", op)
			code = 1
		default:
			set[op] = true
		}
	}
	return sortedKeys(set), code
}

// zpoolHistory is zpool_do_history + get_history_one (illumos-gate
// usr/src/cmd/zpool/zpool_main.c @8dd29de9): getopt "li"; per pool
// "History for '%s':\n", then per command record the time formatted with
// localtime_r + strftime("%F.%T") and "%s %s" with the command line (plus
// " [user %d (%s) on %s:%s]" with -l), "\n" after each record and one more
// "\n" after the pool. Only records with a command are shown; internal
// events (-i) are not kept by the simulator. With no operand and no pool:
// "no pools available\n", exit 0.
func zpoolHistory(e *env, args []string) int {
	opts, operands, ge := getopt(args, "li")
	if ge != nil {
		e.errf("invalid option '%c'\n", ge.c)
		return zpoolUsage(e, "history")
	}
	s := e.s
	pools, code := s.selectPools(e, operands)
	if len(operands) == 0 && len(pools) == 0 {
		e.outf("no pools available\n")
		return 0
	}
	long := hasOpt(opts, 'l')
	for _, p := range pools {
		e.outf("History for '%s':\n", p)
		for _, r := range s.History {
			if r.Pool != p {
				continue
			}
			e.outf("%s %s", time.Unix(r.Time, 0).Local().Format("2006-01-02.15:04:05"), r.Cmd)
			if long {
				e.outf(" [user 0 (root) on %s:global]", s.Hostname)
			}
			e.outf("\n")
		}
		e.outf("\n")
	}
	return code
}

// zpool list properties: name -> header.
var zpoolListHeaders = map[string]string{
	"name": "NAME", "size": "SIZE", "allocated": "ALLOC", "alloc": "ALLOC", "free": "FREE",
	"capacity": "CAP", "cap": "CAP", "dedupratio": "DEDUP", "dedup": "DEDUP",
	"health": "HEALTH", "altroot": "ALTROOT", "expandsize": "EXPANDSZ", "fragmentation": "FRAG",
}

func (s *State) zpoolProp(pool, prop string, parsable bool) string {
	var used int64
	if d := s.Dataset(pool); d != nil {
		used = s.used(dsRef{ds: d})
	} // else a pool on a labelled volume (zpoolimport.go): nothing counted

	size := used + poolAvailable
	num := func(n int64) string {
		if parsable {
			return strconv.FormatInt(n, 10)
		}
		return nicenum(n)
	}
	switch prop {
	case "name":
		return pool
	case "size":
		return num(size)
	case "allocated", "alloc":
		return num(used)
	case "free":
		return num(poolAvailable)
	case "capacity", "cap":
		c := used * 100 / size
		if parsable {
			return strconv.FormatInt(c, 10)
		}
		return fmt.Sprintf("%d%%", c)
	case "dedupratio", "dedup":
		if parsable {
			return "1.00"
		}
		return "1.00x"
	case "health":
		return "ONLINE"
	case "fragmentation":
		if parsable {
			return "0"
		}
		return "0%"
	}
	if prop == "altroot" {
		if a := s.labelAltroot(pool); a != "" {
			return a // zpoolimport.go
		}
	}
	return "-" // altroot, expandsize
}

// zpoolList is zpool_do_list for what probes need: -H (no header, one TAB
// between fields), -p, -o property[,...]; `zpool list -H -o name` prints the
// pool names one per line. Pools sorted by name; an unknown pool is
// "cannot open 'x': no such pool" and exit 1.
func zpoolList(e *env, args []string) int {
	opts, operands, ge := getopt(args, "Hpo:T:v")
	if ge != nil {
		if ge.missing {
			e.errf("missing argument for '%c' option\n", ge.c)
		} else {
			e.errf("invalid option '%c'\n", ge.c)
		}
		return zpoolUsage(e, "list")
	}
	s := e.s
	cols := []string{"name", "size", "allocated", "free", "expandsize", "fragmentation", "capacity", "dedupratio", "health", "altroot"}
	if s.isSolaris() {
		cols = []string{"name", "size", "alloc", "free", "cap", "dedup", "health", "altroot"}
	}
	if o, ok := lastOpt(opts, 'o'); ok {
		cols = strings.Split(o, ",")
		for _, c := range cols {
			if _, known := zpoolListHeaders[c]; !known {
				// zprop_get_list: aux "invalid property", EZFS_BADPROP.
				e.errf("bad property list: invalid property '%s'\n", c)
				return zpoolUsage(e, "list")
			}
		}
	}
	pools, code := s.selectPools(e, operands)
	if len(operands) == 0 && len(pools) == 0 {
		e.outf("no pools available\n")
		return 0
	}
	var rows [][]string
	for _, p := range pools {
		row := make([]string, len(cols))
		for i, c := range cols {
			row[i] = s.zpoolProp(p, c, hasOpt(opts, 'p'))
		}
		rows = append(rows, row)
	}
	header := make([]string, len(cols))
	for i, c := range cols {
		header[i] = zpoolListHeaders[c]
	}
	if len(rows) > 0 {
		printTable(e, header, rows, hasOpt(opts, 'H'))
	}
	return code
}
