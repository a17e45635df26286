package engine

// The window's result, written ahead of the reads that follow it.
//
// Once the outage window's last step is done (import-lu: the LU is back)
// its result is journaled before anything after the window changes
// anything: the views' repair, the zones' attach and boot
// (docs/architecture.md, "What is journaled"). The steps after the window
// begin with reads (restore-views lists the views, resize-lu and verify
// read the volume and the LU, attach-zones reads the zone's state), and a
// read changes nothing on the host: a crash while one runs leaves the host
// as a crash just after import-lu does. So the write need not hold them
// back: it runs in the background while they do, and everything that may
// change something waits for it to end:
//
//   - a command the backend does not say only reads (ReadOnlyCommands;
//     a backend that does not say so has every command wait, and the write
//     is then synchronous as any other),
//   - a command a peer runs (Exec.Starting with a host, Exec.Record),
//   - the next journal write (the records reach the disk in order), and
//     the saga's end (settle).
//
// A write that fails is taken in when it is waited for, as a synchronous
// one's is (saga.wrote: the saga goes on in memory). The record written is
// a copy of the operation (encoded on the saga's goroutine, decoded by the
// writer), so that the saga may go on changing the operation meanwhile.

import (
	"encoding/json"

	"github.com/volctl/volctl/store"
)

// ReadOnlyCommands is what a backend may implement so that the reads after
// the outage window do not wait for the journal's write of its result.
type ReadOnlyCommands interface {
	// ReadOnly reports whether argv only reads: it changes nothing on the
	// host, whatever it finds. False when unsure.
	ReadOnly(argv []string) bool
}

// readsAhead reports whether the backend tells reads from changes.
func (e *Engine) readsAhead() bool {
	_, ok := e.backend.(ReadOnlyCommands)
	return ok
}

// readOnly reports whether the backend says argv only reads.
func (e *Engine) readOnly(argv []string) bool {
	ro, ok := e.backend.(ReadOnlyCommands)
	return ok && ro.ReadOnly(argv)
}

// aheadWrite is a journal write in flight.
type aheadWrite struct {
	done chan struct{}
	err  error
}

// journalAhead starts writing the operation as it is now, in the
// background; awaitJournal waits for it.
func (s *saga) journalAhead() error {
	b, err := json.Marshal(s.op)
	if err != nil {
		return s.wrote(err)
	}
	w := &aheadWrite{done: make(chan struct{})}
	s.aheadMu.Lock()
	s.ahead = w
	s.aheadMu.Unlock()
	go func() {
		defer close(w.done)
		rec := new(store.Operation)
		if w.err = json.Unmarshal(b, rec); w.err == nil {
			w.err = s.e.putOperation(rec)
		}
	}()
	return nil
}

// awaitJournal waits for the write in flight, if any, and takes in its
// outcome. Steps may call it from several goroutines.
func (s *saga) awaitJournal() {
	s.aheadMu.Lock()
	defer s.aheadMu.Unlock()
	w := s.ahead
	if w == nil {
		return
	}
	<-w.done
	s.ahead = nil
	_ = s.wrote(w.err)
}
