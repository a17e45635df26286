package solaris

import "slices"

// ReadOnly implements engine.ReadOnlyCommands: the listings and property
// reads the steps run (zfs list and get, zpool history, list and get,
// stmfadm's list subcommands, zoneadm list, zonecfg info and export)
// change nothing on the host. Only these, by the configured path and the
// subcommand in its place; anything else, including a zpool run through
// zlogin, is taken to change something. The engine lets the reads after
// the outage window run while the journal writes the window's result
// (daemon/engine/ahead.go).
func (b *Backend) ReadOnly(argv []string) bool {
	if len(argv) < 2 {
		return false
	}
	p := b.Paths
	sub := argv[1]
	switch argv[0] {
	case p.Zfs:
		return sub == "list" || sub == "get"
	case p.Zpool:
		return sub == "history" || sub == "list" || sub == "get"
	case p.Stmfadm:
		return slices.Contains([]string{"list-lu", "list-view", "list-target", "list-hg", "list-tg", "list-state"}, sub)
	case p.Zoneadm:
		// zoneadm list ..., zoneadm -z ZONE list ...
		return sub == "list" || sub == "-z" && len(argv) > 3 && argv[3] == "list"
	case p.Zonecfg:
		// zonecfg -z ZONE info|export
		return sub == "-z" && len(argv) > 3 && (argv[3] == "info" || argv[3] == "export")
	}
	return false
}
