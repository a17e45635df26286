package engine

import (
	"context"
	"sort"
	"sync"
)

// locks serialises conflicting work: one operation at a time per volume and
// per zone. Different volumes run in parallel.
type locks struct {
	mu      sync.Mutex
	holders map[string]uint64 // key -> operation id (0 while planning)
	changed chan struct{}     // closed and replaced on every release
}

func newLocks() *locks {
	return &locks{holders: map[string]uint64{}, changed: make(chan struct{})}
}

// acquire takes every key or none. With wait it blocks until they are free or
// ctx ends; without, it fails at once with a *BusyError naming the holder.
func (l *locks) acquire(ctx context.Context, keys []string, holder uint64, wait bool) error {
	return l.acquireNoting(ctx, keys, holder, wait, nil)
}

// acquireNoting is acquire that, with wait, calls onWait (when not nil)
// with the holder each time it has to wait.
func (l *locks) acquireNoting(ctx context.Context, keys []string, holder uint64, wait bool, onWait func(*BusyError)) error {
	keys = append([]string(nil), keys...)
	sort.Strings(keys)
	for {
		l.mu.Lock()
		busy := ""
		for _, k := range keys {
			if _, held := l.holders[k]; held {
				busy = k
				break
			}
		}
		if busy == "" {
			for _, k := range keys {
				l.holders[k] = holder
			}
			l.mu.Unlock()
			return nil
		}
		h := l.holders[busy]
		ch := l.changed
		l.mu.Unlock()
		if !wait {
			return &BusyError{Key: busy, Holder: h}
		}
		if onWait != nil {
			onWait(&BusyError{Key: busy, Holder: h})
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// check fails with a *BusyError when any of keys is held, taking none.
func (l *locks) check(keys []string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		if h, held := l.holders[k]; held {
			return &BusyError{Key: k, Holder: h}
		}
	}
	return nil
}

// setHolder records the operation id once it is known.
func (l *locks) setHolder(keys []string, holder uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		l.holders[k] = holder
	}
}

func (l *locks) release(keys []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		delete(l.holders, k)
	}
	close(l.changed)
	l.changed = make(chan struct{})
}

func volumeKey(vol string) string { return "volume " + vol }
func zoneKey(zone string) string  { return "zone " + zone }
