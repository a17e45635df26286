package solaris

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/volctl/volctl/daemon/comstar"
	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/store"
)

// Reading an LU whole, and waiting for its operational state
// (docs/platform/comstar-lu.md §1, §2).

// DefaultLUOnlineTimeout is how long an imported or created LU gets to
// reach the operational state it had (lu_online_timeout): the kernel
// onlines it from a service thread, usually within a second.
const DefaultLUOnlineTimeout = 30 * time.Second

func (b *Backend) luOnlineTimeout() time.Duration {
	if b.LUOnlineTimeout > 0 {
		return b.LUOnlineTimeout
	}
	return DefaultLUOnlineTimeout
}

// checkReadable refuses a capture that cannot know every LU that may be on
// vol: a registered LU whose data file list-lu -v did not print may be on
// it (a standby LU has closed its zvol, so zfs would not even say "busy");
// an LU on vol must show every property volctl restores, be Active, and be
// Online or Offline. Every such LU is named, with what was printed.
func checkReadable(lus []comstar.LU, vol string) error {
	var errs []error
	for _, lu := range lus {
		if !lu.Registered {
			continue
		}
		if u := lu.UnreadDataFile(); u != nil {
			errs = append(errs, fmt.Errorf("LU %s cannot be read whole (stmfadm list-lu -v: %s), so volctl cannot tell whether it is on %s: %s: %w",
				lu.GUID, comstar.Unreads(unreadAll(lu, *u)), vol, advice(unreadAll(lu, *u)), engine.ErrPrecondition))
			continue
		}
		if !comstar.IsZvolPath(lu.DataFile, vol) {
			continue
		}
		if us := lu.UnreadIdentity(); len(us) > 0 {
			errs = append(errs, fmt.Errorf("LU %s on %s cannot be read whole (stmfadm list-lu -v: %s), so volctl cannot capture it to restore it exactly: %s: %w",
				lu.GUID, vol, comstar.Unreads(us), advice(us), engine.ErrPrecondition))
			continue
		}
		switch lu.OperationalStatus {
		case comstar.StatusOnline, comstar.StatusOffline:
		default:
			errs = append(errs, fmt.Errorf("LU %s on %s is %q (stmfadm list-lu -v, Operational Status): volctl restores an LU to Online or Offline; wait until it is one of them and try again: %w",
				lu.GUID, vol, lu.OperationalStatus, engine.ErrPrecondition))
		}
	}
	return errors.Join(errs...)
}

// unreadAll is u and, for a message, whatever else of the LU was not
// printed as a value (the access state says why).
func unreadAll(lu comstar.LU, u comstar.Unread) []comstar.Unread {
	if us := lu.UnreadIdentity(); len(us) > 0 {
		return us
	}
	return []comstar.Unread{u}
}

// advice is what the admin can do about us.
func advice(us []comstar.Unread) string {
	if comstar.Standby(us) {
		return "the LU is not Active on this node (ALUA), so sbd has closed its zvol and zfs would roll the data back under it; make it Active on this node (stmfadm import-lu of its data file does, or fail the HA pair over to this node) and try again"
	}
	return "fix what keeps stmfadm from reading it (the system log has sbd's and stmf's messages) and try again"
}

// readBack checks an LU a step read back (list-lu -v GUID) as the capture
// checks it: what was not printed as a value cannot be compared.
func readBack(got comstar.LU) error {
	if us := got.UnreadIdentity(); len(us) > 0 {
		return fmt.Errorf("it cannot be read whole (stmfadm list-lu -v %s: %s), so volctl cannot tell whether it has its captured identity; %s",
			got.GUID, comstar.Unreads(us), advice(us))
	}
	return nil
}

// wantStatus is the operational state an LU ends in: the captured one
// (the capture accepts Online and Offline only; older journals have none,
// and their LUs were Online).
func wantStatus(lu store.LU) string {
	if lu.OperationalStatus == comstar.StatusOffline {
		return comstar.StatusOffline
	}
	return comstar.StatusOnline
}

// planSettle is what settle may run for lu, for the plan: the reads, and
// the online-lu / offline-lu that brings it back to its captured state
// when it comes up in the other one.
func (s *sagaSteps) planSettle(lu store.LU) [][]string {
	c := s.b.stmf(nil)
	if wantStatus(lu) == comstar.StatusOffline {
		return [][]string{c.LookupLUArgv(lu.GUID), c.OfflineLUArgv(lu.GUID)}
	}
	return [][]string{c.LookupLUArgv(lu.GUID), c.OnlineLUArgv(lu.GUID)}
}

// settle waits until the LU, registered again, has the operational state
// it was captured in, re-reading stmfadm list-lu -v GUID (at most
// LUOnlineTimeout): Onlining / Offlining mean wait; the other settled
// state means online-lu (a host whose stmf starts new LUs Offline) or
// offline-lu (an LU that was Offline), once. The LU serves nothing until it
// is Online, so this is outage time, and it is spent inside the import
// step.
func (s *sagaSteps) settle(ctx context.Context, x *engine.Exec, lu store.LU) error {
	return s.settleFrom(ctx, x, lu, nil)
}

// settleFrom is settle whose first read is pre when pre is not nil (the
// group's one list-lu -v of all its LUs, importAll).
func (s *sagaSteps) settleFrom(ctx context.Context, x *engine.Exec, lu store.LU, pre *comstar.LU) error {
	c := s.b.stmf(x.Run)
	want := wantStatus(lu)
	timeout := s.b.luOnlineTimeout()
	deadline := time.Now().Add(timeout)
	delay := 100 * time.Millisecond
	asked, told := false, false
	var setErr error
	for {
		got, ok, err := comstar.LU{}, false, error(nil)
		if pre != nil {
			got, ok, pre = *pre, true, nil
		} else {
			got, ok, err = c.LookupLU(ctx, lu.GUID)
		}
		if err != nil {
			return fmt.Errorf("wait for LU %s to be %s: %w", lu.GUID, want, err)
		}
		if !ok || !got.Registered {
			return fmt.Errorf("LU %s is not registered after it was imported (stmfadm list-lu -v %s)", lu.GUID, lu.GUID)
		}
		st := got.OperationalStatus
		switch {
		case st == want:
			if asked {
				x.Note("LU %s is %s again", lu.GUID, want)
			}
			return nil
		case st == comstar.StatusOnlining || st == comstar.StatusOfflining:
			// On its way (the kernel's stmf service thread).
			if !told {
				told = true
				x.Note("LU %s is %s; waiting until it is %s (at most %s, lu_online_timeout)", lu.GUID, st, want, timeout)
			}
		case st == comstar.StatusOnline || st == comstar.StatusOffline:
			if asked {
				why := ""
				if setErr != nil {
					why = " (" + setErr.Error() + ")"
				}
				return fmt.Errorf("LU %s is %s after stmfadm %s%s; it was %s at capture: bring it back (stmfadm %s %s) and recover",
					lu.GUID, st, verbFor(want), why, want, verbFor(want), lu.GUID)
			}
			asked = true
			x.Note("LU %s came up %s; it was %s: stmfadm %s", lu.GUID, st, want, verbFor(want))
			setErr = c.SetLUState(ctx, lu.GUID, want == comstar.StatusOnline)
			if setErr != nil && comstar.IsStateChangePending(execx.Stderr(setErr)) {
				setErr = nil // stmfadm stopped waiting; the kernel goes on
			}
			continue // read it again at once: online-lu waited for it
		default:
			return fmt.Errorf("LU %s: stmfadm list-lu -v printed Operational Status %q, which volctl does not know; it was %s at capture",
				lu.GUID, st, want)
		}
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("LU %s is still %s %s after it was imported (lu_online_timeout): it was %s at capture, and it serves no initiator until it is Online",
				lu.GUID, st, timeout, want)
		}
		t := time.NewTimer(min(delay, left))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("wait for LU %s to be %s (it is %s): %w", lu.GUID, want, st, ctx.Err())
		case <-t.C:
		}
		delay = min(2*delay, time.Second)
	}
}

func verbFor(status string) string {
	if status == comstar.StatusOffline {
		return "offline-lu"
	}
	return "online-lu"
}
