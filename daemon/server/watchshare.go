package server

// Watching an operation that has ended, from one shared copy.
//
// gRPC queues a stream's messages, encoded, until its client reads them
// (up to 64 KiB a stream, plus the client's flow-control window;
// docs/platform/connections.md). A replay of an ended operation is a few
// dozen messages, so every watcher whose client did not read held its own
// encoded copy of them (and decoded the journal record for itself): about
// 70 KB a stream for the seed rollback, more for one with long command
// output. Here the replay is encoded once, and every watcher of the same
// operation sends those bytes: what a stream holds is gRPC's frame
// bookkeeping, not the replay.

import (
	"context"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"

	"github.com/volctl/volctl/daemon/engine"
	v1 "github.com/volctl/volctl/proto/volctl/v1"
	"github.com/volctl/volctl/store"
)

// The replay cache's bounds: the replays of the operations watched most
// recently, together at most replayCacheBytes encoded. A replay larger
// than that is not cached (its watchers encode their own, as before).
const (
	replayCacheBytes   = 32 << 20
	replayCacheEntries = 64
)

// watchMsgs are WatchOperation's responses.
var watchMsgs = opStream[v1.WatchOperationResponse]{
	plan: func(p *v1.Plan) *v1.WatchOperationResponse {
		return &v1.WatchOperationResponse{Event: &v1.WatchOperationResponse_Plan{Plan: p}}
	},
	step: func(st *v1.StepEvent) *v1.WatchOperationResponse {
		return &v1.WatchOperationResponse{Event: &v1.WatchOperationResponse_Step{Step: st}}
	},
	final: func(op *v1.Operation) *v1.WatchOperationResponse {
		return &v1.WatchOperationResponse{Event: &v1.WatchOperationResponse_Operation{Operation: op}}
	},
}

// sharedMsg is a response encoded once: the server's codec (Codec) sends
// enc as it is, to every stream; any other codec marshals the message it
// embeds, so it is never sent wrong, only not shared.
type sharedMsg struct {
	*v1.WatchOperationResponse
	enc mem.BufferSlice // one SliceBuffer
}

func newSharedMsg(m *v1.WatchOperationResponse, b []byte) *sharedMsg {
	return &sharedMsg{WatchOperationResponse: m, enc: mem.BufferSlice{mem.SliceBuffer(b)}}
}

// Marshal sends a sharedMsg's bytes without copying them: gRPC's
// transport only reads a BufferSlice (mem.Reader) and frees its buffers,
// which for a SliceBuffer does nothing, so many streams may hold the same
// one (docs/platform/connections.md).
func (c lenientCodec) Marshal(v any) (mem.BufferSlice, error) {
	if m, ok := v.(*sharedMsg); ok {
		return m.enc, nil
	}
	return c.CodecV2.Marshal(v)
}

// replayKey is an ended operation as journaled: any later journal write
// (a recovery) changes its update time.
type replayKey struct {
	id      uint64
	updated int64
	state   store.OpState
}

type replayEntry struct {
	key   replayKey
	ready chan struct{} // closed once built
	// Set under replayCache.mu before ready is closed, then read-only:
	msgs []*sharedMsg
	err  error // the stream's status (the operation's error)
	ok   bool  // built from the operation as keyed, and cached
	size int
	used uint64 // under replayCache.mu
}

// replayCache holds the encoded replays of ended operations.
type replayCache struct {
	mu      sync.Mutex
	entries map[replayKey]*replayEntry
	bytes   int
	tick    uint64
}

// watchEnded sends the replay of operation id if it has ended, and says
// whether it did (false: the caller watches as usual, for an operation in
// flight, unknown, or changing meanwhile).
func (s *Server) watchEnded(id uint64, stream grpc.ServerStreamingServer[v1.WatchOperationResponse]) (bool, error) {
	op, err := s.eng.Operation(id)
	if err != nil || !op.State.Terminal() || s.eng.InFlight(id) {
		return false, nil
	}
	key := replayKey{id: id, updated: op.Updated.UnixNano(), state: op.State}
	ctx := stream.Context()
	e, mine, err := s.replays.get(ctx, key, func() replay { return s.encodeReplay(ctx, key) })
	if err != nil {
		return true, toStatus(err)
	}
	if !e.ok && !mine {
		return false, nil
	}
	for _, m := range e.msgs {
		if stream.SendMsg(m) != nil {
			break // the client is gone; the status says what the operation did
		}
	}
	return true, e.err
}

// replay is an encoded replay: its messages, the stream's status, and
// whether it is of the operation as keyed (it was not recovered
// meanwhile), so that others may send it too.
type replay struct {
	msgs []*sharedMsg
	err  error
	ok   bool
}

// encodeReplay watches operation key.id through the engine, as any
// watcher would, and encodes each response.
func (s *Server) encodeReplay(ctx context.Context, key replayKey) replay {
	var out []*sharedMsg
	var encErr error
	final, err := s.eng.Watch(ctx, key.id, func(ev engine.Event) {
		m := watchMsgs.message(ev)
		if m == nil || encErr != nil {
			return
		}
		b, err := proto.Marshal(m)
		if err != nil {
			encErr = err
			return
		}
		out = append(out, newSharedMsg(m, b))
	})
	if encErr != nil {
		return replay{err: toStatus(encErr)}
	}
	ok := final != nil && final.Updated.UnixNano() == key.updated && final.State == key.state
	return replay{msgs: out, err: toStatus(err), ok: ok}
}

// get returns the replay of key: cached, or being built by another
// watcher (it waits for it), or built now by build (mine). An entry that
// is not ok was built for its builder alone.
func (c *replayCache) get(ctx context.Context, key replayKey, build func() replay) (e *replayEntry, mine bool, err error) {
	c.mu.Lock()
	if e = c.entries[key]; e != nil {
		c.tick++
		e.used = c.tick
		c.mu.Unlock()
		select {
		case <-e.ready:
			return e, false, nil
		case <-ctx.Done():
			return nil, false, ctx.Err()
		}
	}
	e = &replayEntry{key: key, ready: make(chan struct{})}
	if c.entries == nil {
		c.entries = map[replayKey]*replayEntry{}
	}
	c.entries[key] = e
	c.mu.Unlock()

	r := build()
	size := 0
	for _, m := range r.msgs {
		size += m.enc.Len()
	}
	c.mu.Lock()
	e.msgs, e.err, e.size = r.msgs, r.err, size
	e.ok = r.ok && size <= replayCacheBytes
	if !e.ok {
		delete(c.entries, key)
	} else {
		c.bytes += e.size
		c.tick++
		e.used = c.tick
		for k, old := range c.entries {
			if k.id == key.id && k != key && old.ok {
				c.dropLocked(old) // an older record of the same operation
			}
		}
		for c.bytes > replayCacheBytes || len(c.entries) > replayCacheEntries {
			old := c.oldestLocked(e)
			if old == nil {
				break
			}
			c.dropLocked(old)
		}
	}
	c.mu.Unlock()
	close(e.ready)
	return e, true, nil
}

// oldestLocked is the least recently used built entry other than keep.
func (c *replayCache) oldestLocked(keep *replayEntry) *replayEntry {
	var oldest *replayEntry
	for _, e := range c.entries {
		if e == keep || !e.ok {
			continue // not built yet (its builder counts it when done), or this one
		}
		if oldest == nil || e.used < oldest.used {
			oldest = e
		}
	}
	return oldest
}

// dropLocked forgets a built entry; streams sending it keep their copy.
func (c *replayCache) dropLocked(e *replayEntry) {
	if e == nil {
		return
	}
	if e.ok {
		c.bytes -= e.size
	}
	delete(c.entries, e.key)
}
