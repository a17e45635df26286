package engine

// What an operation that needs attention left part-way, for volctl status,
// ls and show (issue 21): each operation that needs attention, the
// volumes and zones it holds, and what it left, read from its journaled
// steps and identity.

import (
	"fmt"
	"slices"

	"github.com/volctl/volctl/store"
)

// Attention is an operation that needs attention: what it holds (Hold),
// its target, and what it left part-way.
type Attention struct {
	store.Hold
	Snapshot string
	// Left names each thing it left part-way ("zone kz1 detached").
	Left           []string
	NeedsRepersist bool
}

// Attention returns the operations that need attention, oldest first
// (the holds, holds.go), each with what it left. A journal that cannot be
// read is an error, never "nothing needs attention".
func (e *Engine) Attention() ([]Attention, error) {
	holds, err := e.holds()
	if err != nil {
		return nil, err
	}
	var out []Attention
	for _, h := range holds {
		if h.State == store.OpWaiting {
			continue // it waits for an admin (await.go): it needs no attention
		}
		op, err := e.attentionOp(h.Op)
		if err != nil {
			return nil, fmt.Errorf("read operation %d, which needs attention: %w", h.Op, err)
		}
		out = append(out, Attention{Hold: h, Snapshot: op.Snapshot, Left: leftBehind(op), NeedsRepersist: op.NeedsRepersist})
	}
	return out, nil
}

// Waiting returns the operations that stopped on purpose and wait for an
// admin (a rescue --shell, await.go), oldest first: they hold their disks
// and zones, as the attention index says, without needing attention.
func (e *Engine) Waiting() ([]*store.Operation, error) {
	holds, err := e.holds()
	if err != nil {
		return nil, err
	}
	var out []*store.Operation
	for _, h := range holds {
		if h.State != store.OpWaiting {
			continue
		}
		op, err := e.attentionOp(h.Op)
		if err != nil {
			return nil, fmt.Errorf("read operation %d, which waits for an admin: %w", h.Op, err)
		}
		out = append(out, op)
	}
	return out, nil
}

// attentionOp is operation id as the journal has it, or as it ended while
// the journal could not take it (stale).
func (e *Engine) attentionOp(id uint64) (*store.Operation, error) {
	e.staleMu.Lock()
	op := e.stale[id]
	e.staleMu.Unlock()
	if op != nil {
		return cloneOp(op), nil
	}
	return e.db.GetOperation(id)
}

// undoneBy pairs a step that takes something away with the later step
// that brings it back (the Solaris backend's zone steps,
// daemon/solaris/steps.go): when the first has run and the second has not
// finished, what the first took away is still away.
var undoneBy = []struct {
	takes, gives string
	left         func(z store.Zone) string
}{
	{"detach-zones", "attach-zones", func(z store.Zone) string {
		if z.State == "configured" {
			return "" // not attached before: nothing was detached
		}
		return "zone " + z.Name + onHost(z.Host) + " detached"
	}},
	{"stop-zones", "boot-zones", func(z store.Zone) string {
		if !z.Ran() {
			return ""
		}
		return "zone " + z.Name + onHost(z.Host) + " not running (it was: boot it once attached)"
	}},
}

// bootCheckLeft is what a failed check-boot step (daemon/solaris/bootcheck.go)
// left: a kernel zone attached and not booted because its boot disk's
// label would not boot it (or could not be read). Booting it by hand would
// panic it: the rescue comes first (docs/platform/kz-boot-path.md §5).
func bootCheckLeft(z store.Zone) string {
	return "zone " + z.Name + onHost(z.Host) + " attached, not booted: its boot disk's label would not boot it or cannot be read (volctl check-boot " +
		z.Name + " says which; repair it with volctl rescue " + z.Name + " --with RESCUE_ZONE, then recover)"
}

// leftBehind says what op left part-way, from its journal: the volumes at
// the snapshot (its commit step done), its LUs away (the outage window
// open), LUs not persisted, zones detached or not booted again.
func leftBehind(op *store.Operation) []string {
	var left []string
	state := func(name string) (store.StepState, bool) {
		for _, st := range op.Steps {
			if st.Name == name {
				return st.State, true
			}
		}
		return "", false
	}
	taken := func(s store.StepState) bool {
		// Ran forward (or was running, or failed part-way) and was not
		// undone.
		return s == store.StepDone || s == store.StepRunning || s == store.StepFailed
	}
	for _, name := range []string{"rollback", "finish-rollback"} {
		if s, ok := state(name); ok && s == store.StepDone {
			for _, id := range op.Volumes() {
				left = append(left, "volume "+id.Volume+" at "+id.Snapshot)
			}
			break
		}
	}
	if !op.OutageStart.IsZero() && op.OutageEnd.IsZero() {
		for _, id := range op.Volumes() {
			for _, lu := range id.LUs {
				left = append(left, "LU "+lu.GUID+" away: no initiator reaches "+id.Volume)
			}
		}
	}
	if op.NeedsRepersist {
		left = append(left, "an LU online but not persisted by STMF: gone after a reboot or an stmf restart")
	}
	left = append(left, rescueLeft(op, state, taken)...) // rescue.go
	for _, p := range undoneBy {
		took, ok := state(p.takes)
		gave, _ := state(p.gives)
		if !ok || !taken(took) || gave == store.StepDone || gave == store.StepSkipped {
			continue
		}
		checked, _ := state("check-boot")
		for _, id := range op.Volumes() {
			for _, z := range id.Zones {
				l := p.left(z)
				if p.gives == "boot-zones" && checked == store.StepFailed && l != "" && (len(z.BootDisks) > 0 || z.BootUnknown != "") {
					l = bootCheckLeft(z)
				}
				if l != "" && !slices.Contains(left, l) {
					left = append(left, l)
				}
			}
		}
	}
	return left
}
