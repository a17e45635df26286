package engine

// Retention of the journal's history (volctld.toml [journal], issue 24;
// store/retention.go says what is never dropped): a loop drops finished
// operations past keep_for or beyond the newest keep_last, at start (after
// the resumes) and every hour, a batch per transaction, each batch after
// the open outage windows close (windows.go). Each round that drops
// anything says so in the log and in the audit trail (count, ids), which
// keeps its own records.

import (
	"context"
	"fmt"
	"time"

	"github.com/volctl/volctl/store"
)

// JournalRetention is how long finished operations stay in the journal;
// zero values keep them all.
type JournalRetention struct {
	// KeepFor drops a finished operation this long after it ended.
	KeepFor time.Duration
	// KeepLast keeps the newest KeepLast operations and drops the older
	// finished ones.
	KeepLast int
}

func (r JournalRetention) enabled() bool { return r.KeepFor > 0 || r.KeepLast > 0 }

// journalPruneBatch is how many operations one transaction drops: the
// transaction decodes each operation it looks at, and a journal write
// waits for it meanwhile, so it stays small.
const journalPruneBatch = 64

// JournalRetentionWho is who the audit record of a prune names.
const JournalRetentionWho = "volctld journal retention"

// startJournalRetention starts the loop when [journal] asks for it.
func (e *Engine) startJournalRetention() {
	r := e.cfg.JournalRetention
	if !r.enabled() {
		return
	}
	e.log.Info("journal: retention on", "keep_for", r.KeepFor, "keep_last", r.KeepLast)
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		tick := time.NewTicker(retentionEvery)
		defer tick.Stop()
		for {
			_, _ = e.PruneJournal(e.base)
			select {
			case <-e.base.Done():
				return
			case <-tick.C:
			}
		}
	}()
}

// PruneJournal runs one round of journal retention now: it drops what
// [journal] says is past, a batch at a time, and returns what it dropped
// and kept in all.
func (e *Engine) PruneJournal(ctx context.Context) (store.Pruned, error) {
	r := e.cfg.JournalRetention
	var total store.Pruned
	if !r.enabled() {
		return total, nil
	}
	p := store.Prune{KeepLast: r.KeepLast, Max: journalPruneBatch}
	if r.KeepFor > 0 {
		p.Before = e.now().Add(-r.KeepFor)
	}
	for ctx.Err() == nil {
		e.windows.wait(maxReadWait) // windows first
		res, err := e.db.PruneOperations(p)
		if err != nil {
			e.log.Error("journal retention: pruning failed; trying again at the next round", "error", err, "dropped", total.Dropped)
			e.auditPrune(total, err)
			return total, err
		}
		if res.Dropped > 0 {
			if total.First == 0 || res.First < total.First {
				total.First = res.First
			}
			total.Last = max(total.Last, res.Last)
		}
		total.Dropped += res.Dropped
		total.KeptAttention, total.KeptUnfinished, total.KeptForUndo = res.KeptAttention, res.KeptUnfinished, res.KeptForUndo
		if !res.More {
			break
		}
	}
	if total.Dropped > 0 {
		e.log.Info("journal retention: dropped finished operations", "dropped", total.Dropped, "first", total.First, "last", total.Last,
			"kept_needs_attention", total.KeptAttention, "kept_unfinished", total.KeptUnfinished, "kept_for_undo", total.KeptForUndo,
			"keep_for", r.KeepFor, "keep_last", r.KeepLast)
		e.auditPrune(total, nil)
	}
	return total, nil
}

// auditPrune appends the audit record of a prune: what went, by the
// limits of [journal].
func (e *Engine) auditPrune(p store.Pruned, err error) {
	r := e.cfg.JournalRetention
	rec := store.AuditRecord{Time: e.now().UTC(), Who: JournalRetentionWho, Method: "journal retention", Allowed: true, Result: "ok",
		Detail: fmt.Sprintf("dropped %d finished operations, ids %d to %d (keep_for %s, keep_last %d); kept past the limits: %d needing attention, %d unfinished, %d for undo",
			p.Dropped, p.First, p.Last, r.KeepFor, r.KeepLast, p.KeptAttention, p.KeptUnfinished, p.KeptForUndo)}
	if err != nil {
		rec.Result = "error: " + err.Error()
	}
	if _, aerr := e.db.AppendAudit(rec); aerr != nil {
		e.log.Error("journal retention: audit write failed", "error", aerr)
	}
}
