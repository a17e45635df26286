package sim

import (
	"os"
	"reflect"
	"slices"
	"sync"
	"syscall"
	"time"
)

// stateCache keeps, in the resident simulator (serve.go), the decoded
// state the last command left, so the next command on the host need not
// decode the file again: decoding it was most of a simulated command's
// own CPU time, and, inside the host's lock, what a group's commands
// queued behind one another for. A process per command starts with it
// off.
//
// What it relies on:
//   - load takes the entry out; only keep puts one back, from the save of
//     a command that left the state as it read it (its bytes are the
//     file's) or that wrote it (the bytes it wrote are the file's). A
//     command that failed or was stopped leaves no entry, and the next
//     command decodes the file.
//   - an entry is used only while the file is the one it was read from or
//     written to (inode, size and modification time): a writer outside
//     the server (volctl-sim's management commands, a test's sim.Update)
//     replaces the file by rename, which changes its inode.
//   - a state a command changed is what decoding its encoding gives except
//     for what the encoding cannot show: a nil map (keep's caller fills
//     the maps, as decoding does), a nil slice made empty under omitempty
//     (the simulator reads slices by length only), and two fields made to
//     share one value (no simulated command stores one pointer in two
//     places: it copies or moves, as clone.go's promote moves snapshots).
//
// VOLCTL_SIM_CACHE_CHECK=1 makes every hit decode the file as well and
// panic if the two differ (the sim tests and make faults run with it).
type stateCache struct {
	mu      sync.Mutex
	on      bool
	check   bool
	entries map[string]cachedState
}

type cachedState struct {
	s   *State
	raw []byte
	id  fileID
}

// fileID is what tells one state file from the one that replaced it.
type fileID struct {
	ino, size int64
	mtime     time.Time
}

var states = &stateCache{entries: map[string]cachedState{}}

// enableStateCache turns the cache on for this process (the server).
func enableStateCache() {
	states.mu.Lock()
	defer states.mu.Unlock()
	states.on = true
	states.check = os.Getenv("VOLCTL_SIM_CACHE_CHECK") == "1"
}

func stateFileID(root string) (fileID, bool) {
	fi, err := os.Stat(statePath(root))
	if err != nil {
		return fileID{}, false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, false
	}
	return fileID{ino: int64(st.Ino), size: fi.Size(), mtime: fi.ModTime()}, true
}

// load is readStateRaw, from the entry when the file is still the one it
// was read from. The caller holds the host's lock.
func (c *stateCache) load(root string) (*State, []byte, error) {
	c.mu.Lock()
	on, check := c.on, c.check
	e, hit := c.entries[root]
	delete(c.entries, root)
	c.mu.Unlock()
	if !on {
		return readStateRaw(root)
	}
	if id, ok := stateFileID(root); hit && ok && id == e.id {
		if check {
			fresh, raw, err := readStateRaw(root)
			if err != nil {
				return nil, nil, err
			}
			if !reflect.DeepEqual(fresh, e.s) || string(raw) != string(e.raw) {
				panic("sim: the state cache's entry for " + root + " differs from its file")
			}
		}
		return e.s, e.raw, nil
	}
	return readStateRaw(root)
}

// enabled reports whether the cache is on (the server).
func (c *stateCache) enabled() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.on
}

// listsOnly reports whether the command only prints what the host has:
// zfs list and get; zpool list, get and history; stmfadm's list
// subcommands; zoneadm list; zonecfg info and export; hostid. In the
// server, such a command on a host without fault rules (a rule counts the
// commands it matches, in the state) puts the state back as it read it
// without encoding it to compare: under 64 rollbacks at once, encoding the
// state after every command was a quarter of the server's CPU, and most
// commands are listings. That a listing changes nothing is this list's
// claim, not a comparison's: VOLCTL_SIM_CACHE_CHECK=1 checks it, since the
// next command's hit then finds the entry differs from the file (the sim's
// tests and make faults run with it).
func listsOnly(name string, args []string) bool {
	sub := ""
	if len(args) > 0 {
		sub = args[0]
	}
	switch name {
	case "hostid":
		return len(args) == 0
	case "zfs":
		return sub == "list" || sub == "get"
	case "zpool":
		return sub == "list" || sub == "get" || sub == "history"
	case "stmfadm":
		return slices.Contains([]string{"list-lu", "list-view", "list-target", "list-hg", "list-tg", "list-state"}, sub)
	case "zoneadm":
		return sub == "list" || sub == "-z" && len(args) > 2 && args[2] == "list"
	case "zonecfg":
		return sub == "-z" && len(args) > 2 && (args[2] == "info" || args[2] == "export")
	}
	return false
}

// keep puts back the state of a command that left it as read (raw are
// the bytes it was decoded from, and the file's content).
func (c *stateCache) keep(root string, s *State, raw []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.on {
		return
	}
	if id, ok := stateFileID(root); ok && id.size == int64(len(raw)) {
		c.entries[root] = cachedState{s: s, raw: raw, id: id}
	}
}

// latency is latencyOf from the entry when the file is still the one it
// was read from (it is read before the host's lock, for every command).
func (c *stateCache) latency(root string) (time.Duration, string) {
	c.mu.Lock()
	e, hit := c.entries[root]
	var lat, model string
	if hit {
		// Read under c.mu: an entry in the map is no command's.
		lat, model = e.s.Latency, e.s.concurrency()
	}
	c.mu.Unlock()
	if !hit {
		return latencyOf(root)
	}
	if id, ok := stateFileID(root); !ok || id != e.id {
		return latencyOf(root)
	}
	d, err := time.ParseDuration(lat)
	if lat == "" || err != nil || d <= 0 {
		return 0, ""
	}
	return d, model
}
