package sim

import (
	"strings"
	"testing"
)

// TestDeleteLUSeveralOperands: deleteLuFunc goes on to the next operand
// after one fails, prints one line per failed operand (without its GUID)
// and exits with the number of operands that failed; the operands before
// and after the failed one are deleted (docs/platform/comstar-delete-lu.md).
// The failed one ("resource busy": held) lost its SMF entry and stays
// registered with its views.
func TestDeleteLUSeveralOperands(t *testing.T) {
	for _, busy := range []string{guid0, guid1} {
		t.Run("busy "+busy, func(t *testing.T) {
			root := seeded(t)
			if err := Update(root, func(s *State) error { s.LU(busy).Busy = true; return nil }); err != nil {
				t.Fatal(err)
			}
			r := run(t, root, "stmfadm", "delete-lu", "-k", guid0, guid1)
			if r.code != 1 || r.stderr != "stmfadm: resource busy\n" {
				t.Fatalf("got %+v, want exit 1 and one resource busy line", r)
			}
			mustDeletedExcept(t, load(t, root), busy)
		})
	}
}

// TestFailPartwaySeveralOperands: fail-partway on a delete-lu of several
// LUs fails the last operand its match names; the others are deleted as
// the real command deletes them, before it and after it.
func TestFailPartwaySeveralOperands(t *testing.T) {
	for _, c := range []struct {
		match   string
		failing string
	}{
		{"delete-lu -k " + guid0, guid0},
		{"delete-lu -k " + guid0 + " " + guid1, guid1},
	} {
		t.Run(c.failing, func(t *testing.T) {
			root := seeded(t)
			if err := AddFault(root, Fault{Command: "stmfadm", Match: c.match, Action: ActionFailPartway, Exit: 1, Stderr: "stmfadm: unknown error"}); err != nil {
				t.Fatal(err)
			}
			r := run(t, root, "stmfadm", "delete-lu", "-k", guid0, guid1)
			if r.code != 1 || r.stderr != "stmfadm: unknown error\n" {
				t.Fatalf("got %+v", r)
			}
			s := load(t, root)
			mustDeletedExcept(t, s, c.failing)
			if err := RestartSTMF(root); err != nil {
				t.Fatal(err)
			}
			if s := load(t, root); s.LU(guid0) != nil || s.LU(guid1) != nil {
				t.Errorf("after an stmf restart an LU came back: the failed one was unpersisted, the other deleted")
			}
		})
	}
}

// mustDeletedExcept: every seed LU but failed is deleted (not in the SMF
// store, not registered); failed is registered, not in the store; each
// keeps its views (-k).
func mustDeletedExcept(t *testing.T, s *State, failed string) {
	t.Helper()
	for _, g := range []string{guid0, guid1} {
		if _, ok := s.ProviderData[strings.ToLower(g)]; ok {
			t.Errorf("%s still in the SMF provider data", g)
		}
		if got, want := s.LU(g) != nil, g == failed; got != want {
			t.Errorf("%s registered = %v, want %v", g, got, want)
		}
		if len(s.Views(g)) == 0 {
			t.Errorf("%s lost its views (-k)", g)
		}
	}
	if t.Failed() {
		t.Logf("failed operand %s", failed)
	}
}
