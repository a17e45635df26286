package sim

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// Which simulated commands wait for which, while their latency runs: the
// concurrency model (docs/platform/host-concurrency.md). A command's
// latency is spent holding the locks the real command holds for its
// duration; the state file's own lock (lock.go) is taken only for the
// short load-act-save that follows.
const (
	// ConcurrencyHost (the default): the platform's locks, by what the
	// command names (docs/platform/host-concurrency.md §5): an LU (sbd's per-LU
	// operation, SMF's lu-<GUID> property group), the host or target
	// groups' property group, the pool namespace for zpool import, export,
	// create and destroy, a zone for zoneadm and zonecfg. zfs commands
	// hold nothing for long (their sync tasks share the pool's txg), nor
	// do commands that only read.
	ConcurrencyHost = "host"
	// ConcurrencyGlobal: every command holds one host-wide lock for its
	// latency, so the host runs one command at a time (the pessimistic
	// bound).
	ConcurrencyGlobal = "global"
	// ConcurrencyState: the latency holds nothing; commands serialise only
	// on the state file's lock for their load-act-save (the model before
	// the host model).
	ConcurrencyState = "state"
)

// ConcurrencyModels are the models SetConcurrency accepts.
var ConcurrencyModels = []string{ConcurrencyHost, ConcurrencyGlobal, ConcurrencyState}

// concurrency is the model the host runs (the default when unset).
func (s *State) concurrency() string {
	if s.Concurrency == "" {
		return ConcurrencyHost
	}
	return s.Concurrency
}

// SetConcurrency sets the host's concurrency model (one of
// ConcurrencyModels).
func SetConcurrency(root, model string) error {
	ok := false
	for _, m := range ConcurrencyModels {
		ok = ok || m == model
	}
	if !ok {
		return fmt.Errorf("concurrency %q: want one of %s", model, strings.Join(ConcurrencyModels, ", "))
	}
	return Update(root, func(s *State) error {
		s.Concurrency = ""
		if model != ConcurrencyHost {
			s.Concurrency = model
		}
		return nil
	})
}

// ConcurrencyModel returns the concurrency model the host at root runs,
// for a benchmark to print with its figures.
func ConcurrencyModel(root string) (string, error) {
	s, err := Load(root)
	if err != nil {
		return "", err
	}
	return s.concurrency(), nil
}

// commandLocks are the names of the locks a command holds for its latency
// under model; argv[0] is the command name.
func commandLocks(model string, argv []string) []string {
	switch model {
	case ConcurrencyState:
		return nil
	case ConcurrencyGlobal:
		return []string{"host"}
	}
	name, args := filepath.Base(argv[0]), argv[1:]
	var locks []string
	switch name {
	case "stmfadm":
		locks = stmfLocks(args)
	case "zpool":
		locks = zpoolLocks(args)
	case "zoneadm", "zonecfg":
		locks = zoneLocks(name, args)
	}
	sort.Strings(locks)
	return dedupe(locks)
}

// stmfLocks: a change to an LU (create-lu, import-lu and modify-lu by file
// name, the others by GUID) holds that LU; a change to the host or target
// groups holds their property group. Listing holds nothing.
func stmfLocks(args []string) []string {
	if len(args) == 0 || strings.HasPrefix(strings.ToLower(args[0]), "list-") {
		return nil
	}
	sub := strings.ToLower(args[0])
	opts, ops, ge := getopt(expandLong(args[1:]), stmfOptstring)
	if ge != nil {
		return nil // refused before it touches anything
	}
	lu := func(name string) string {
		if strings.HasPrefix(name, "/") {
			return "stmf-lu-file:" + name
		}
		return "stmf-lu:" + strings.ToUpper(name)
	}
	var locks []string
	switch sub {
	case "create-hg", "delete-hg", "add-hg-member", "remove-hg-member":
		locks = append(locks, "stmf-host-groups")
	case "create-tg", "delete-tg", "add-tg-member", "remove-tg-member":
		locks = append(locks, "stmf-target-groups")
	case "remove-view":
		if l, ok := lastOpt(opts, 'l'); ok {
			locks = append(locks, lu(l))
		}
	case "create-lu", "import-lu", "delete-lu", "modify-lu", "online-lu", "offline-lu", "add-view":
		for _, o := range ops {
			locks = append(locks, lu(o))
		}
	}
	return locks
}

// zpoolLocks: import, export, create and destroy hold the pool namespace
// (spa_namespace_lock) throughout; the rest hold nothing for long.
func zpoolLocks(args []string) []string {
	if len(args) == 0 {
		return nil
	}
	switch args[0] {
	case "import":
		if len(args) == 1 || (len(args) == 2 && strings.HasPrefix(args[1], "-")) {
			return nil // lists the importable pools
		}
		return []string{"zfs-spa-namespace"}
	case "export", "create", "destroy":
		return []string{"zfs-spa-namespace"}
	}
	return nil
}

// zoneLocks: zoneadm -z ZONE and zonecfg -z ZONE hold the zone, except
// the subcommands that only read it.
func zoneLocks(name string, args []string) []string {
	if len(args) < 3 || args[0] != "-z" {
		return nil // zoneadm list and the like
	}
	sub := args[2]
	if name == "zonecfg" {
		// zonecfg -z ZONE info/export read; a script or -f may change.
		if sub == "info" || sub == "export" {
			return nil
		}
	} else if sub == "list" || sub == "verify" || sub == "help" {
		return nil
	}
	return []string{"zone:" + args[1]}
}

func dedupe(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// lockNames is the in-process side of the named locks: fcntl locks belong
// to the process, so goroutines of one process (in-process tests) exclude
// each other here first; only the holder of a name's mutex opens its file.
var lockNames = struct {
	sync.Mutex
	m map[string]*sync.Mutex
}{m: map[string]*sync.Mutex{}}

func nameMutex(path string) *sync.Mutex {
	lockNames.Lock()
	defer lockNames.Unlock()
	mu := lockNames.m[path]
	if mu == nil {
		mu = &sync.Mutex{}
		lockNames.m[path] = mu
	}
	return mu
}

// heldLocks are named locks a command holds; release is safe to call twice.
type heldLocks struct {
	files []*os.File
	mus   []*sync.Mutex
}

// lockNamed takes the named locks of root in the order given (sorted, so
// two commands never wait for each other crosswise), each an fcntl write
// lock on ROOT/locks/NAME.
func lockNamed(root string, names []string) (*heldLocks, error) {
	h := &heldLocks{}
	if len(names) == 0 {
		return h, nil
	}
	dir := filepath.Join(root, "locks")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	esc := strings.NewReplacer("%", "%25", "/", "%2F")
	for _, n := range names {
		path := filepath.Join(dir, esc.Replace(n))
		mu := nameMutex(path)
		mu.Lock()
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if err == nil {
			lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0}
			for {
				err = unix.FcntlFlock(f.Fd(), unix.F_SETLKW, &lk)
				if err != unix.EINTR {
					break
				}
			}
			if err != nil {
				f.Close()
			}
		}
		if err != nil {
			mu.Unlock()
			h.release()
			return nil, fmt.Errorf("lock %s: %w", n, err)
		}
		h.files = append(h.files, f)
		h.mus = append(h.mus, mu)
	}
	return h, nil
}

func (h *heldLocks) release() {
	if h == nil {
		return
	}
	for i := len(h.files) - 1; i >= 0; i-- {
		lk := unix.Flock_t{Type: unix.F_UNLCK, Whence: 0}
		_ = unix.FcntlFlock(h.files[i].Fd(), unix.F_SETLK, &lk)
		h.files[i].Close()
		h.mus[i].Unlock()
	}
	h.files, h.mus = nil, nil
}

// lazyRE compiles a regexp on first use: every simulated command is a
// process of its own, and most never match these, so compiling them at
// start was a cost each command paid.
func lazyRE(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}
