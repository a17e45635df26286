package engine

// Retention of kept datasets (volctld.toml [kept], docs/keep.md §5): a
// loop forgets, by the same journaled forget operations a person runs,
// the kept datasets past keep_for or beyond the newest keep_last of their
// volume. It runs after Start's resumes, every hour, and after each keep
// rollback or undo ends. A forget it cannot run now (the volume in use or
// held for attention) is tried again at the next round.

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"

	"github.com/volctl/volctl/store"
)

// Retention is how long kept datasets are kept; zero values keep them
// until forgotten.
type Retention struct {
	// KeepFor forgets a kept dataset this long after its operation's
	// commit.
	KeepFor time.Duration
	// KeepLast keeps the newest KeepLast kept datasets of each volume and
	// forgets the older ones.
	KeepLast int
}

func (r Retention) enabled() bool { return r.KeepFor > 0 || r.KeepLast > 0 }

// retentionEvery is how often retention looks without being asked.
const retentionEvery = time.Hour

// RetentionRequester is who retention's forgets are requested by.
const RetentionRequester = "volctld retention"

// expired returns the operations retention forgets now, oldest first: those
// whose every kept dataset is past r (a group's datasets go together, so
// one still within keep_last on its volume keeps the group's).
func expired(recs []store.Kept, now time.Time, r Retention) []uint64 {
	if !r.enabled() {
		return nil
	}
	byVolume := map[string][]store.Kept{}
	for _, k := range recs {
		if k.State == store.KeptKept {
			byVolume[k.Volume] = append(byVolume[k.Volume], k)
		}
	}
	past := map[uint64]bool{}   // an operation with a dataset past the limits (and none within: within)
	within := map[uint64]bool{} // an operation with a dataset still within them
	for _, ks := range byVolume {
		slices.SortFunc(ks, func(a, b store.Kept) int {
			return cmp.Or(b.Created.Compare(a.Created), cmp.Compare(b.Op, a.Op)) // newest first
		})
		for rank, k := range ks {
			if r.KeepFor > 0 && now.Sub(k.Created) > r.KeepFor || r.KeepLast > 0 && rank >= r.KeepLast {
				past[k.Op] = true
			} else {
				within[k.Op] = true
			}
		}
	}
	var ops []uint64
	for op := range past {
		if !within[op] {
			ops = append(ops, op)
		}
	}
	slices.Sort(ops)
	return ops
}

// startRetention starts the loop when [kept] asks for retention.
func (e *Engine) startRetention() {
	if !e.cfg.Retention.enabled() {
		return
	}
	e.retainMu.Lock()
	if e.retainKick == nil {
		e.retainKick = make(chan struct{}, 1)
	}
	e.retainMu.Unlock()
	e.log.Info("kept datasets: retention on", "keep_for", e.cfg.Retention.KeepFor, "keep_last", e.cfg.Retention.KeepLast)
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		tick := time.NewTicker(retentionEvery)
		defer tick.Stop()
		for {
			e.retentionRound(e.base)
			select {
			case <-e.base.Done():
				return
			case <-tick.C:
			case <-e.retainKick:
			}
		}
	}()
}

// kickRetention asks the loop for a round (after a keep ended); nothing
// when retention is off.
func (e *Engine) kickRetention() {
	e.retainMu.Lock()
	ch := e.retainKick
	e.retainMu.Unlock()
	if ch == nil {
		return
	}
	select {
	case ch <- struct{}{}:
	default: // a round is asked for already
	}
}

// retentionRound forgets what expired picks, one operation at a time,
// each a journaled forget. It returns the forget operations it ran (for
// tests and the log).
func (e *Engine) retentionRound(ctx context.Context) []uint64 {
	recs, err := e.db.ListKept()
	if err != nil {
		e.log.Error("retention: cannot read the kept records; trying again at the next round", "error", err)
		return nil
	}
	var ran []uint64
	for _, id := range expired(recs, e.now(), e.cfg.Retention) {
		if ctx.Err() != nil {
			return ran
		}
		var datasets []string
		var vols []string
		for _, k := range recs {
			if k.Op == id {
				datasets = append(datasets, k.Dataset)
				vols = append(vols, k.Volume)
			}
		}
		// In use or held: not now (a forget would be refused as busy or
		// held), and nothing to report as a failure.
		if err := e.locks.check(volumeKeys(vols)); err != nil {
			e.log.Info("retention: kept datasets expired but their volume is in use; trying again at the next round", "op", id, "datasets", datasets, "why", err)
			continue
		}
		if err := e.checkHeldVolumes(vols...); err != nil {
			e.log.Info("retention: kept datasets expired but their volume is held; trying again at the next round", "op", id, "datasets", datasets, "why", err)
			continue
		}
		op, err := e.Forget(ctx, ForgetRequest{Operation: id, DestroyKept: true, RequestedBy: RetentionRequester}, func(Event) {})
		var busy *BusyError
		var held *HeldError
		switch {
		case errors.As(err, &busy) || errors.As(err, &held):
			e.log.Info("retention: kept datasets expired but their volume is in use or held; trying again at the next round", "op", id, "datasets", datasets, "why", err)
		case err != nil:
			fop := uint64(0)
			if op != nil {
				fop = op.ID
			}
			e.log.Error("retention: forgetting expired kept datasets failed", "op", id, "forget_op", fop, "datasets", datasets, "error", err)
			if fop != 0 {
				ran = append(ran, fop)
			}
		default:
			e.log.Info("retention: forgot expired kept datasets", "op", id, "forget_op", op.ID, "datasets", datasets,
				"keep_for", e.cfg.Retention.KeepFor, "keep_last", e.cfg.Retention.KeepLast)
			ran = append(ran, op.ID)
		}
	}
	return ran
}
