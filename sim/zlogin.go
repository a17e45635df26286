package sim

import (
	"path/filepath"
	"strings"
)

// zlogin ZONE CMD... runs CMD inside a running kernel zone. The simulator
// runs only the zpool commands of the rescue there (import, export, list;
// zpoolimport.go); the refusals before that are zlogin.c main's
// (docs/platform/kz-boot.md §6).

// zloginErr prints zlogin.c zerror(): "zlogin: MESSAGE\n".
func zloginErr(e *env, format string, a ...any) int {
	e.errf("%s: "+format+"\n", append([]any{e.name}, a...)...)
	return 1
}

func runZlogin(e *env, args []string) int {
	_, rest, ge := getopt(args, "nECR:Se:l:Q")
	if ge != nil || len(rest) == 0 {
		// zlogin.c usage() [UNV: the 11.4 text]; exit 2.
		e.errf("usage: %s [ -nQCES ] [ -e cmdchar ] [-l user] zonename [command [args ...] ]\n", e.name)
		e.refuse("zlogin: usage")
		return 2
	}
	zname, cmd := rest[0], rest[1:]
	if zname == "global" {
		return zloginErr(e, "'%s' not applicable to the global zone", e.name)
	}
	z := e.s.Zone(zname)
	if z == nil {
		return zloginErr(e, "zone '%s' unknown", zname)
	}
	if stateRank[z.State] < stateRank[ZoneInstalled] {
		return zloginErr(e, "cannot login to a zone which is '%s'", z.State)
	}
	if z.State != ZoneRunning {
		return zloginErr(e, "login allowed only to running zones (%s is '%s').", z.Name, z.State)
	}
	if len(cmd) == 0 {
		e.errf("%s: simulator: interactive login is not simulated\n", e.name)
		e.refuse(e.lastErr)
		return 1
	}
	// zlogin hands the words to the zone's shell as one command line; the
	// simulator splits it on blanks (no quoting).
	words := strings.Fields(strings.Join(cmd, " "))
	if !z.isKZ() || filepath.Base(words[0]) != "zpool" || len(words) < 2 {
		e.errf("%s: simulator: only zpool import, export and list run inside kernel zones: %s\n", e.name, strings.Join(words, " "))
		e.refuse(e.lastErr)
		return 1
	}
	v := e.zoneView(z)
	// Inside the zone it is zpool that speaks (its own messages).
	e.name = "zpool"
	var code int
	switch words[1] {
	case "import":
		code = zpoolImport(e, v, words[2:])
	case "export":
		code = zpoolExport(e, v, words[2:])
	case "list":
		code = zoneZpoolList(e, v, words[2:])
	default:
		e.errf("zlogin: simulator: only zpool import, export and list run inside kernel zones\n")
		e.refuse(e.lastErr)
		code = 1
	}
	e.name = "zlogin"
	if err := e.closePeers(); err != nil {
		e.errf("%s: simulator: %v\n", e.name, err)
		return 1
	}
	return code
}
