package solaris_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/daemon/zones"
	"github.com/volctl/volctl/sim"
	"github.com/volctl/volctl/sim/simtest"
	"github.com/volctl/volctl/store"
)

// countingPeers is a zone host that counts the questions it is asked.
type countingPeers struct{ finds *int }

func (p countingPeers) Names() []string { return []string{"kz-host1"} }
func (p countingPeers) Find(context.Context, zones.Query) []zones.Report {
	*p.finds++
	return []zones.Report{{Peer: "kz-host1"}}
}
func (p countingPeers) Act(context.Context, string, string, string, zones.Verb, time.Duration) (zones.Result, error) {
	return zones.Result{}, errors.New("not here")
}
func (p countingPeers) ActRescue(context.Context, string, string, string, zones.Verb, zones.Rescue, time.Duration) (zones.Result, error) {
	return zones.Result{}, errors.New("not here")
}

// TestReadStopsAtARefusal: the capture's reading stops where a refusal is
// certain (read, capture.go), so a refused capture runs no more commands
// and asks no peer past it: an unreadable LU refuses before any view is
// listed, an unreadable zone storage reference before the peers are asked.
func TestReadStopsAtARefusal(t *testing.T) {
	tests := []struct {
		name    string
		knob    func(t *testing.T, root string)
		refusal string
		notRun  []string // stmfadm verbs that must not run
	}{
		{"another volume's LU in standby", func(t *testing.T, root string) {
			must(t, sim.SetLUAccess(root, sim.SeedGUID1, sim.AccessStandby))
		}, "cannot tell whether it is on pool/idisk0", []string{"list-view", "list-target", "list-hg", "list-tg"}},
		{"a zone storage reference volctl cannot read", func(t *testing.T, root string) {
			must(t, sim.AddZone(root, sim.ZoneSpec{Name: "zbad", Brand: "solaris", RootZpool: []string{"file:///export/zbad.img"}}))
		}, "zone zbad", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := simtest.HostFlavor(t, sim.FlavorSolaris)
			tc.knob(t, root)
			finds := 0
			b := newBackend(root)
			b.Peers = countingPeers{&finds}
			r := &execx.Runner{Timeout: 10 * time.Second}
			ctx := context.Background()
			if _, err := b.Probe(ctx, r.Run); err != nil {
				t.Fatal(err)
			}
			before, err := sim.Calls(root)
			must(t, err)
			_, _, err = b.Capture(ctx, r.Run, "pool/idisk0@snap1", store.Options{HaltZones: true, AcceptSessions: true})
			if !errors.Is(err, engine.ErrPrecondition) || errors.Is(err, engine.ErrNeedsConsent) || !strings.Contains(err.Error(), tc.refusal) {
				t.Fatalf("capture: %v, want a refusal saying %q", err, tc.refusal)
			}
			if finds != 0 {
				t.Errorf("the peer was asked %d times for a refused capture", finds)
			}
			after, err := sim.Calls(root)
			must(t, err)
			for _, c := range after[len(before):] {
				if len(c.Argv) > 1 && slices.Contains(tc.notRun, c.Argv[1]) {
					t.Errorf("%s ran for a capture refused before it", strings.Join(c.Argv[1:], " "))
				}
			}
		})
	}
}
