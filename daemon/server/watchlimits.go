package server

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"google.golang.org/grpc/stats"

	"github.com/volctl/volctl/daemon/auth"
)

// Default watch limits (config: max_watches_per_connection,
// max_watches_per_caller). A person follows a few operations at once; a
// program that follows many opens more connections, up to its caller's
// share.
const (
	DefaultWatchesPerConnection = 16
	DefaultWatchesPerCaller     = 64
)

// ErrTooManyWatches: a WatchOperation past the caller's or the
// connection's limit (ResourceExhausted).
var ErrTooManyWatches = errors.New("too many operations watched at once")

// SetWatchLimits bounds the WatchOperation streams open at once on one
// connection and of one caller (uid, certificate subject); 0 is no bound.
func (s *Server) SetWatchLimits(perConnection, perCaller int) {
	s.watches.mu.Lock()
	s.watches.perConn, s.watches.perCaller = perConnection, perCaller
	s.watches.mu.Unlock()
}

// ConnTags is the stats handler (grpc.StatsHandler) that tags each
// connection, so that a stream knows which connection it is on: the
// connection limit of WatchOperation counts by that tag. Without it only
// the per-caller limit applies.
func (s *Server) ConnTags() stats.Handler { return connTagger{} }

type connTagger struct{}

// connTag is one connection; its count is under watchLimits.mu.
type connTag struct{ watches int }

type connTagKey struct{}

func (connTagger) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return context.WithValue(ctx, connTagKey{}, &connTag{})
}
func (connTagger) HandleConn(context.Context, stats.ConnStats)                     {}
func (connTagger) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context { return ctx }
func (connTagger) HandleRPC(context.Context, stats.RPCStats)                       {}

// watchLimits counts the open WatchOperation streams.
type watchLimits struct {
	mu        sync.Mutex
	perConn   int
	perCaller int
	callers   map[string]int
}

// acquire counts a new watch of the caller on ctx's connection, or
// refuses it (ErrTooManyWatches); release uncounts it, once.
func (w *watchLimits) acquire(ctx context.Context) (release func(), err error) {
	caller := "unidentified"
	if id, _, ok := identityFrom(ctx); ok {
		caller = id.LimitKey()
	} else if id, err := auth.FromContext(ctx); err == nil {
		caller = id.LimitKey()
	}
	tag, _ := ctx.Value(connTagKey{}).(*connTag)
	w.mu.Lock()
	defer w.mu.Unlock()
	if tag != nil && w.perConn > 0 && tag.watches >= w.perConn {
		return nil, fmt.Errorf("%w: this connection already watches %d operations (max_watches_per_connection); end one, or watch on another connection",
			ErrTooManyWatches, tag.watches)
	}
	if w.perCaller > 0 && w.callers[caller] >= w.perCaller {
		return nil, fmt.Errorf("%w: %s already watches %d operations (max_watches_per_caller); end one first",
			ErrTooManyWatches, caller, w.callers[caller])
	}
	if w.callers == nil {
		w.callers = map[string]int{}
	}
	w.callers[caller]++
	if tag != nil {
		tag.watches++
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			w.mu.Lock()
			defer w.mu.Unlock()
			if w.callers[caller]--; w.callers[caller] <= 0 {
				delete(w.callers, caller)
			}
			if tag != nil {
				tag.watches--
			}
		})
	}, nil
}
