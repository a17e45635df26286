package sim

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// LU access and operational states as stmfadm list-lu -v shows them, and
// the knobs that make a host show the others (docs/platform/comstar-lu.md
// in the repository; the same on every Solaris-family flavor).
//
//   - An LU's ALUA access state (LU.Access, "" = Active): any other state
//     makes every sbd property print "prop unavailable in standby" and
//     releases the LU's zvol (sbd closes its backing store), so zfs no
//     longer answers "dataset is busy" for it. import-lu of its data file
//     makes it Active again (stmfLuStandby(3STMF)).
//   - Properties that print "<error retrieving property>" (State.LUPropErrors,
//     by GUID, so they survive a delete-lu and import-lu of the LU):
//     list-lu -v still prints every line, and its exit status is the
//     failure count of the last LU listed.
//   - How long an imported, created or onlined LU stays "Onlining"
//     (State.OnliningFor), in real time.
//   - New LUs start Offline (State.NewLUsOffline: stmf's default_lu_state
//     set to offline), at import-lu, create-lu and an stmf restart alike.

// Access states list-lu -v prints (printExtLuProps).
const (
	AccessActive          = "Active"
	AccessStandby         = "Standby"
	AccessActiveToStandby = "Active->Standby"
	AccessStandbyToActive = "Standby->Active"
	AccessUnknown         = "Unknown"
)

// KnobNewLUsOffline is the SetKnob name for State.NewLUsOffline.
const KnobNewLUsOffline = "new-lus-offline"

// luExtLabels are the properties printExtLuProps prints, in its order.
var luExtLabels = []string{"Data File", "Meta File", "Size", "Block Size", "Management URL", "Vendor ID",
	"Product ID", "Serial Num", "Write Protect", "Writeback Cache", "Access State"}

// active reports whether the LU is Active on this node (its properties
// readable, its zvol held).
func (lu *LU) active() bool { return lu.Access == "" || lu.Access == AccessActive }

// status is the Operational Status list-lu prints now: Onlining until the
// online the kernel queued is done.
func (lu *LU) status(now time.Time) string {
	if lu.State == "Online" && lu.OnlineAt > now.UnixNano() {
		return "Onlining"
	}
	return lu.State
}

// onlining is how long an LU being onlined shows "Onlining".
func (s *State) onlining() time.Duration {
	d, err := time.ParseDuration(s.OnliningFor)
	if err != nil || d < 0 {
		return 0
	}
	return d
}

// startLU sets a newly registered LU's state as the kernel does
// (stmf_register_lu): Offline where new LUs start Offline, else Online once
// the queued online is done.
func (s *State) startLU(lu *LU) {
	lu.OnlineAt = 0
	if s.NewLUsOffline {
		lu.State = "Offline"
		return
	}
	lu.State = "Online"
	if d := s.onlining(); d > 0 {
		lu.OnlineAt = time.Now().Add(d).UnixNano()
	}
}

// SetLUAccess sets the ALUA access state of a registered LU: "" or
// AccessActive for Active, or AccessStandby, AccessActiveToStandby,
// AccessStandbyToActive, AccessUnknown.
func SetLUAccess(root, guid, access string) error {
	switch access {
	case "", AccessActive, AccessStandby, AccessActiveToStandby, AccessStandbyToActive, AccessUnknown:
	default:
		return fmt.Errorf("unknown access state %q (valid: %s, %s, %s, %s, %s)", access,
			AccessActive, AccessStandby, AccessActiveToStandby, AccessStandbyToActive, AccessUnknown)
	}
	return Update(root, func(s *State) error {
		lu := s.LU(guid)
		if lu == nil {
			return fmt.Errorf("no registered LU %s", guid)
		}
		lu.Access = access
		if access == AccessActive {
			lu.Access = ""
		}
		return nil
	})
}

// SetLUPropError makes list-lu -v print "<error retrieving property>" for
// one property of the LU with that GUID (on), or its value again (off).
// label is as list-lu -v prints it ("Data File", "Size", "Access State"...).
func SetLUPropError(root, guid, label string, on bool) error {
	if !slices.Contains(luExtLabels, label) {
		return fmt.Errorf("unknown property %q (valid: %s)", label, strings.Join(luExtLabels, ", "))
	}
	if !isGUID(guid) {
		return fmt.Errorf("%s is not a GUID (32 hex digits)", guid)
	}
	g := strings.ToUpper(guid)
	return Update(root, func(s *State) error {
		labels := slices.DeleteFunc(s.LUPropErrors[g], func(l string) bool { return l == label })
		if on {
			labels = append(labels, label)
		}
		if s.LUPropErrors == nil {
			s.LUPropErrors = map[string][]string{}
		}
		s.LUPropErrors[g] = labels
		if len(labels) == 0 {
			delete(s.LUPropErrors, g)
		}
		return nil
	})
}

// SetOnlining sets how long an imported, created or onlined LU shows
// "Onlining" before "Online" (0: online at once).
func SetOnlining(root string, d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("negative duration %s", d)
	}
	return Update(root, func(s *State) error {
		s.OnliningFor = ""
		if d > 0 {
			s.OnliningFor = d.String()
		}
		return nil
	})
}

// onlineWait is how long stmfadm online-lu / offline-lu polls for the LU to
// get there: 30 times 300 ms (onlineOfflineLu).
const onlineWait = 30 * 300 * time.Millisecond
