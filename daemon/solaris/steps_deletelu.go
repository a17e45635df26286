package solaris

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/volctl/volctl/daemon/comstar"
	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/store"
)

// delete-lu of several LUs (a group's, or a volume's several LUs) as one
// command, and what a failure of it leaves, LU by LU.
//
// stmfadm delete-lu -k G1 G2 ... deletes its operands in turn in one
// process and goes on after one fails; each failure prints one line that
// does not name its GUID, and the exit status counts them
// (docs/platform/comstar-delete-lu.md, "Several operands"). A failed
// operand lost its SMF store entry and stays registered; the others are
// deleted. So after a failure the LUs are read back (list-lu -v, one per
// LU, side by side) to learn which are gone and which remain, and the
// failure is the remaining ones'.

// deleteAll is delete-lu's Do: one delete-lu -k of every LU of the step.
func (s *sagaSteps) deleteAll(ctx context.Context, x *engine.Exec) error {
	lus := s.allLUs()
	if len(lus) == 0 {
		return nil // (the step is only there when there are LUs)
	}
	err := s.b.stmf(x.Run).DeleteLU(ctx, guidsOf(lus)...)
	switch {
	case err == nil:
		return nil
	case len(lus) == 1:
		return deleteFailed(lus[0], err)
	}
	return s.afterFailedDelete(ctx, x, lus, err)
}

func guidsOf(lus []store.LU) []string {
	out := make([]string, len(lus))
	for i, lu := range lus {
		out[i] = lu.GUID
	}
	return out
}

// deleteFailed is the error of a delete-lu that failed for lu; "resource
// busy" (the LU is held: asking again meets the same initiators) is
// permanent.
func deleteFailed(lu store.LU, err error) error {
	if comstar.IsBusy(execx.Stderr(err)) {
		return engine.Permanent(fmt.Errorf("delete LU %s: %w (initiators keep it from going offline)", lu.GUID, err))
	}
	return fmt.Errorf("delete LU %s: %w", lu.GUID, err)
}

// afterFailedDelete reads back which of lus a failed delete-lu of them
// all (err) left registered, and makes the failure theirs. Where the
// printed lines cannot tell which failure is whose (several remain, some
// "resource busy" and some not), each remaining LU is deleted again on
// its own, so that each failure, and so lostPersistence, is exact: the
// journal then holds a delete-lu of that LU alone.
func (s *sagaSteps) afterFailedDelete(ctx context.Context, x *engine.Exec, lus []store.LU, err error) error {
	remain, rerr := s.stillRegistered(ctx, x, lus)
	if rerr != nil {
		return fmt.Errorf("delete LUs %s: %w; and reading back which of them are gone: %v", strings.Join(guidsOf(lus), ", "), err, rerr)
	}
	if len(remain) == 0 {
		x.Note("delete-lu failed (%v), but none of its LUs is registered any more (list-lu -v): every one is away", err)
		return nil
	}
	busy, other := failureLines(execx.Stderr(err))
	if busy > 0 && other > 0 {
		x.Note("delete-lu failed for %s with different errors (%v); deleting each of them alone to learn which failure is whose",
			strings.Join(guidsOf(remain), ", "), err)
		return permanentIfAll(parallel(len(remain), func(i int) error { return s.deleteLU(ctx, x, remain[i]) }))
	}
	errs := make([]error, len(remain))
	for i, lu := range remain {
		errs[i] = deleteFailed(lu, err)
	}
	return permanentIfAll(errors.Join(errs...))
}

// stillRegistered reads each LU back (list-lu -v GUID, side by side) and
// returns those that are registered, in order.
func (s *sagaSteps) stillRegistered(ctx context.Context, x *engine.Exec, lus []store.LU) ([]store.LU, error) {
	reg := make([]bool, len(lus))
	err := parallel(len(lus), func(i int) error {
		got, ok, err := s.b.stmf(x.Run).LookupLU(ctx, lus[i].GUID)
		if err != nil {
			return fmt.Errorf("read LU %s: %w", lus[i].GUID, err)
		}
		reg[i] = ok && got.Registered
		return nil
	})
	if err != nil {
		return nil, err
	}
	var out []store.LU
	for i, lu := range lus {
		if reg[i] {
			out = append(out, lu)
		}
	}
	return out, nil
}

// failureLines counts the lines of a failed delete-lu's stderr that say
// "resource busy" and the other failures; "GUID: not found" lines are an
// operand that is gone (no LU and, with -k, no views), not a failure of
// one that remains.
func failureLines(stderr []byte) (busy, other int) {
	for _, l := range strings.Split(string(stderr), "\n") {
		l = strings.TrimSpace(l)
		switch {
		case l == "" || strings.HasSuffix(l, ": not found"):
		case comstar.IsBusy([]byte(l)):
			busy++
		default:
			other++
		}
	}
	return busy, other
}
