package engine

// Windows first (issue 24): while any operation has an LU out of service
// (its outage window is open), the journal's long reads, the lists of
// history, wait between their chunks (store.SetReadPace) so that they do
// not take the CPU and the journal from the commands and the journal
// writes that bring the LU back. A reader waits at most maxReadWait per
// chunk, so that many rollbacks whose windows overlap without end do not
// starve history; and one chunk is read at a time, so that readers past
// that wait (or between windows) take one CPU at most, not all of them.

import (
	"sync"
	"time"
)

// maxReadWait bounds how long one chunk of a long read waits for the open
// windows to close.
const maxReadWait = time.Second

// windows are the operations whose outage window is open.
type windows struct {
	// slot is held while a chunk of a long read is read.
	slot chan struct{}
	mu   sync.Mutex
	open map[uint64]bool
	// clear is closed when no window is open; a new one is made when one
	// opens.
	clear chan struct{}
}

func newWindows() *windows {
	c := make(chan struct{})
	close(c)
	return &windows{open: map[uint64]bool{}, clear: c, slot: make(chan struct{}, 1)}
}

// readSlot is the engine's read pace: it waits for the open windows to
// close (at most maxReadWait) and for the read slot, and returns the
// slot's release.
func (w *windows) readSlot() (release func()) {
	w.wait(maxReadWait)
	w.slot <- struct{}{}
	return func() { <-w.slot }
}

// opened notes that operation id's window is open (again); idempotent.
func (w *windows) opened(id uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.open) == 0 {
		w.clear = make(chan struct{})
	}
	w.open[id] = true
}

// closed notes that operation id's window is closed, or that it ended;
// idempotent.
func (w *windows) closed(id uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.open[id] {
		return
	}
	delete(w.open, id)
	if len(w.open) == 0 {
		close(w.clear)
	}
}

// wait returns when no window is open, or after max.
func (w *windows) wait(max time.Duration) {
	w.mu.Lock()
	clear := w.clear
	w.mu.Unlock()
	select {
	case <-clear:
		return
	default:
	}
	t := time.NewTimer(max)
	defer t.Stop()
	select {
	case <-clear:
	case <-t.C:
	}
}
