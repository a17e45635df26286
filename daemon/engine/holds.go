package engine

// Holds: an operation that needs attention left its volumes and zones
// part-way (a zone detached, an LU away, a volume at the snapshot with its
// zones not booted). A new rollback would capture that as the state to
// restore and never finish what the first left, so until the operation is
// recovered (volctl recover) or released by hand (volctl resolve), a
// rollback, its dry run or a snapshot destroy that touches any of them is
// refused. The holds come from the journal's attention index
// (store.Holds), written with the operation itself: they are there right
// after a restart or a crash, before Start and after, and cost one read of
// a small bucket, not of the history.

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/volctl/volctl/store"
)

// HeldError: the request touches a volume or zone that an operation which
// needs attention holds. It is a failed precondition.
type HeldError struct {
	// Op is the operation that holds it.
	Op uint64
	// Volume, or Zone (on Host, a peer; empty for this host), is what the
	// request touches.
	Volume, Zone, Host string
	// Attention is what the operation says is left.
	Attention string
	// Waiting: the holder waits for an admin (rescue --shell), it does
	// not need attention; Attention is then what the admin is to do.
	Waiting bool
}

func (e *HeldError) Error() string {
	what := "volume " + e.Volume
	if e.Zone != "" {
		what = "zone " + e.Zone + onHost(e.Host)
	}
	if e.Waiting {
		return fmt.Sprintf("%s is held by operation %d, which waits for an admin: %s",
			what, e.Op, strings.TrimSuffix(strings.TrimSpace(e.Attention), "."))
	}
	left := strings.TrimSuffix(strings.TrimSpace(e.Attention), ".")
	if left == "" {
		left = fmt.Sprintf("see volctl op show %d", e.Op)
	}
	if recover := fmt.Sprintf("volctl recover %d", e.Op); !strings.Contains(left, recover) {
		left += "; finish it with " + recover
	}
	return fmt.Sprintf("%s is held by operation %d, which needs attention: %s. Or, once you have put right by hand what it left, release it with volctl resolve %d --reason TEXT",
		what, e.Op, left, e.Op)
}

// Is makes errors.Is(err, ErrPrecondition) true.
func (e *HeldError) Is(target error) bool { return target == ErrPrecondition }

func onHost(host string) string {
	if host == "" {
		return ""
	}
	return " on host " + host
}

// heldKey is how a hold and a request name a volume ("volume V", as the
// locks do) or a zone ("zone Z" on this host, "zone Z on host H" on a
// peer: a zone of the same name on another host is another zone).
func heldKey(z store.ZoneRef) string { return zoneKey(z.Name) + onHost(z.Host) }

// zoneHeldKeys are the keys of the zones of the captured identities, on
// the host each is on and on those that have it configured (see
// store.HoldOf).
func zoneHeldKeys(ids []store.Identity) []string {
	var keys []string
	for _, id := range ids {
		for _, z := range id.Zones {
			for _, host := range append([]string{z.Host}, z.ConfiguredOn...) {
				if k := heldKey(store.ZoneRef{Name: z.Name, Host: host}); !slices.Contains(keys, k) {
					keys = append(keys, k)
				}
			}
		}
	}
	return keys
}

// holds are the operations that need attention: the journal's index, and
// those whose end the journal could not take yet (stale; a request that
// writes is refused until it can, but a dry run reads).
func (e *Engine) holds() ([]store.Hold, error) {
	holds, err := e.db.Holds()
	if err != nil {
		return nil, fmt.Errorf("read the operations that need attention: %w", err)
	}
	e.staleMu.Lock()
	defer e.staleMu.Unlock()
	for _, op := range e.stale {
		i := slices.IndexFunc(holds, func(h store.Hold) bool { return h.Op == op.ID })
		switch {
		case op.State.Holds() && i < 0:
			holds = append(holds, store.HoldOf(op))
		case !op.State.Holds() && i >= 0:
			holds = slices.Delete(holds, i, i+1)
		}
	}
	slices.SortFunc(holds, func(a, b store.Hold) int { return cmp.Compare(a.Op, b.Op) })
	return holds, nil
}

// checkHeld refuses (*HeldError, naming the oldest holder) a request that
// touches any of keys (volumeKey, heldKey) while an operation that needs
// attention holds it. A journal that cannot be read refuses too.
func (e *Engine) checkHeld(keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	holds, err := e.holds()
	if err != nil {
		return err
	}
	for _, h := range holds {
		for _, v := range h.Volumes {
			if slices.Contains(keys, volumeKey(v)) {
				return &HeldError{Op: h.Op, Volume: v, Attention: h.Attention, Waiting: h.State == store.OpWaiting}
			}
		}
		for _, z := range h.Zones {
			if slices.Contains(keys, heldKey(z)) {
				return &HeldError{Op: h.Op, Zone: z.Name, Host: z.Host, Attention: h.Attention, Waiting: h.State == store.OpWaiting}
			}
		}
	}
	return nil
}

// checkHeldVolumes is checkHeld for volumes by name.
func (e *Engine) checkHeldVolumes(vols ...string) error {
	var keys []string
	for _, v := range vols {
		keys = append(keys, volumeKey(v))
	}
	return e.checkHeld(keys)
}

// MaxResolveReason bounds a resolution's reason, in bytes.
const MaxResolveReason = 1024

// Resolve releases an operation that needs attention, once an admin (by,
// as RequestedBy names a caller) put right by hand what it left: it runs
// nothing, journals the resolution (who, when, reason, what the operation
// said was left) and moves the operation to resolved, so that its volumes
// and zones are no longer held. An operation that does not need attention
// is refused, as is one that is being recovered (busy).
func (e *Engine) Resolve(ctx context.Context, id uint64, by, reason string) (*store.Operation, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return nil, fmt.Errorf("reason: required: say what was put right by hand: %w", ErrInvalid)
	}
	if len(reason) > MaxResolveReason {
		return nil, fmt.Errorf("reason: %d bytes, at most %d: %w", len(reason), MaxResolveReason, ErrInvalid)
	}
	if e.base.Err() != nil {
		return nil, ErrShuttingDown
	}
	// Records the journal missed go first: the operation may be one of them.
	if err := e.journalWritable(); err != nil {
		return nil, err
	}
	op, err := e.Operation(id)
	if err != nil {
		return nil, err
	}
	if err := resolvable(op); err != nil {
		return nil, err
	}
	// Its locks keep a recover of it from running meanwhile.
	keys := opKeys(op)
	if err := e.locks.acquire(ctx, keys, id, false); err != nil {
		return nil, err
	}
	defer e.locks.release(keys)
	if op, err = e.Operation(id); err != nil {
		return nil, err
	}
	if err := resolvable(op); err != nil {
		return nil, err
	}
	now := e.now().UTC()
	// It stood still from its last write until now: not active time.
	if !op.Updated.IsZero() && now.After(op.Updated) {
		op.Idle += now.Sub(op.Updated)
	}
	op.Resolution = &store.Resolution{Time: now, By: by, Reason: reason, Attention: op.Attention}
	op.State, op.Attention, op.Updated = store.OpResolved, "", now
	if err := e.putOperation(op); err != nil {
		return nil, fmt.Errorf("the journal cannot be written (%v): operation %d still needs attention: %w", err, id, ErrUnavailable)
	}
	e.log.Warn("operation resolved by hand: its volumes and zones are released", "op", id, "by", by, "reason", reason,
		"left", op.Resolution.Attention)
	e.cfg.Observer.OperationFinished(cloneOp(op))
	return op, nil
}

func resolvable(op *store.Operation) error {
	if op.State != store.OpNeedsAttention {
		return fmt.Errorf("operation %d %s; only an operation that needs attention can be resolved: %w",
			op.ID, stateWords(op.State), ErrPrecondition)
	}
	return nil
}

// recoverable re-reads an operation once recover holds its locks: a
// resolve, or another recover, may have ended it since it was read.
func (e *Engine) recoverable(id uint64) (*store.Operation, error) {
	op, err := e.Operation(id)
	if err != nil {
		return nil, err
	}
	if op.State != store.OpNeedsAttention {
		return nil, fmt.Errorf("operation %d %s; only an operation that needs attention can be recovered: %w",
			id, stateWords(op.State), ErrPrecondition)
	}
	return op, nil
}
