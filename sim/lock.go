package sim

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/sys/unix"
)

// processMu serialises lockers inside one process: fcntl locks belong to the
// process, so two goroutines would not exclude each other, and closing any
// descriptor of the lock file would drop the other's lock.
var processMu sync.Mutex

// hostLock is the inter-process lock on ROOT/state.lock, held for the whole
// load-act-save of one command so concurrent command processes serialise
// like the real kernel and SMF do.
type hostLock struct {
	f *os.File
	// nested: taken by lockPeer under another host's lock, so processMu
	// is not this lock's to release.
	nested bool
}

func lockHost(root string) (*hostLock, error) {
	processMu.Lock()
	l, err := lockFile(root)
	if err != nil {
		processMu.Unlock()
		return nil, err
	}
	return l, nil
}

// lockPeer locks another host (a storage host of the fabric) while the
// caller holds its own host's lock from lockHost, and so processMu: no other
// goroutine of this process holds any host lock meanwhile. The lock order
// is always the caller's host first, then the peer; the peer must not be
// the caller's own root (a second fcntl lock of the same file by the same
// process would succeed at once, and closing it would drop the first).
func lockPeer(root string) (*hostLock, error) {
	l, err := lockFile(root)
	if err != nil {
		return nil, err
	}
	l.nested = true
	return l, nil
}

func lockFile(root string) (*hostLock, error) {
	f, err := os.OpenFile(filepath.Join(root, "state.lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0}
	for {
		err = unix.FcntlFlock(f.Fd(), unix.F_SETLKW, &lk)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", f.Name(), err)
	}
	return &hostLock{f: f}, nil
}

// unlock is safe to call twice, so a command can release the lock early
// (before hanging) and still defer the normal release.
func (l *hostLock) unlock() {
	if l == nil || l.f == nil {
		return
	}
	lk := unix.Flock_t{Type: unix.F_UNLCK, Whence: 0}
	_ = unix.FcntlFlock(l.f.Fd(), unix.F_SETLK, &lk)
	l.f.Close()
	l.f = nil
	if !l.nested {
		processMu.Unlock()
	}
}
