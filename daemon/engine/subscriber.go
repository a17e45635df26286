package engine

import (
	"errors"
	"fmt"
	"sync"
)

// subscriberBacklog bounds the events waiting for one subscriber. A
// subscriber's stream takes them as fast as gRPC takes its messages,
// which it does until 64 KiB of them wait for a client that does not read
// (docs/platform/connections.md); a subscriber this far behind on top of
// that is dropped with ErrFellBehind. The backlog grows only while it is
// behind (128 bytes an event, sharing the commands with the history), and
// the saga never waits for it.
const subscriberBacklog = 1024

// ErrFellBehind: a watcher whose client did not read its stream fell more
// than subscriberBacklog events behind and was dropped; the operation
// goes on (ResourceExhausted).
var ErrFellBehind = errors.New("the watcher fell behind")

// subscriber is one follower of an operation in flight.
type subscriber struct {
	// history is what was published before it subscribed, to replay
	// first: a prefix of inflight.history, which is only appended to, so
	// shared rather than copied.
	history []Event
	// wake has a token when backlog has events.
	wake chan struct{}
	// dropped is closed when the backlog overflowed: the subscriber has
	// lost an event and is no longer subscribed.
	dropped chan struct{}

	mu      sync.Mutex
	backlog []Event
}

func newSubscriber(history []Event) *subscriber {
	return &subscriber{history: history, wake: make(chan struct{}, 1), dropped: make(chan struct{})}
}

// offer hands ev to the subscriber without waiting; false when its
// backlog is full (it is dropped: publish unsubscribes it).
func (s *subscriber) offer(ev Event) bool {
	s.mu.Lock()
	if len(s.backlog) >= subscriberBacklog {
		s.mu.Unlock()
		close(s.dropped)
		return false
	}
	s.backlog = append(s.backlog, ev)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return true
}

// take returns the backlog and empties it.
func (s *subscriber) take() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	evs := s.backlog
	s.backlog = nil
	return evs
}

// fellBehind is the error of a dropped subscriber's stream.
func fellBehind(id uint64) error {
	return fmt.Errorf("operation %d: %w by more than %d events (its client did not read the stream) and was dropped; the operation goes on: watch it again to follow it from the start",
		id, ErrFellBehind, subscriberBacklog)
}
