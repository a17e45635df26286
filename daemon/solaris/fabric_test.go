package solaris

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/volctl/volctl/daemon/comstar"
	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/store"
)

// TestMergeZones: one entry per zone, acted on where it is attached, the
// other hosts that have it configured kept for a takeover decision.
func TestMergeZones(t *testing.T) {
	kz := func(host, state, aux string) store.Zone {
		return store.Zone{Name: "kz1", State: state, Brand: "solaris-kz", Host: host, Aux: aux}
	}
	tests := []struct {
		name   string
		local  []store.Zone
		remote []store.Zone
		want   []store.Zone
		err    string
	}{
		{"on a peer only", nil, []store.Zone{kz("a", "installed", "")}, []store.Zone{kz("a", "installed", "")}, ""},
		{"migrated: configured here, running on a", []store.Zone{kz("", "configured", "")}, []store.Zone{kz("a", "running", "")},
			[]store.Zone{{Name: "kz1", State: "running", Brand: "solaris-kz", Host: "a", ConfiguredOn: []string{""}}}, ""},
		{"configured on two, attached on none", []store.Zone{kz("", "configured", "")}, []store.Zone{kz("a", "configured", "")},
			[]store.Zone{{Name: "kz1", State: "configured", Brand: "solaris-kz", ConfiguredOn: []string{"a"}}}, ""},
		{"attached on two", []store.Zone{kz("", "installed", "")}, []store.Zone{kz("a", "running", "")}, nil, "more than one host"},
		{"suspended elsewhere", []store.Zone{kz("", "installed", "")}, []store.Zone{kz("a", "configured", "suspended")}, nil, "suspended on peer a"},
		{"migrating in", nil, []store.Zone{kz("a", "running", "migrating-in"), kz("b", "configured", "")}, nil, "migrating-in"},
	}
	for _, tt := range tests {
		got, _, err := mergeZones(tt.local, tt.remote)
		if tt.err != "" {
			if !errors.Is(err, engine.ErrPrecondition) || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: %v, want a refusal with %q", tt.name, err, tt.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %+v %v, want %+v", tt.name, got, err, tt.want)
		}
	}
}

// TestCheckSessions: initiators of the hosts whose zones are on the LU
// are expected; any other that can see it needs --accept-sessions; one
// that cannot see it (another host group) is not named.
func TestCheckSessions(t *testing.T) {
	lu := store.LU{GUID: "600144F0A613C900000054521D550001", Views: []store.View{
		{HostGroup: "hg-kz", TargetGroup: "tg-a", LUN: 0}, {HostGroup: "All", TargetGroup: "tg-b", LUN: 7}}}
	f := fabric{
		targets: []comstar.Target{
			{Name: "tgt-a", Sessions: []comstar.Session{{Initiator: "iqn.x:kz-host1"}, {Initiator: "iqn.x:other-a"}}},
			{Name: "tgt-b", Sessions: []comstar.Session{{Initiator: "iqn.x:kz-host1"}}},
		},
		hostGroups:   map[string][]string{"hg-kz": {"iqn.x:kz-host1"}},
		targetGroups: map[string][]string{"tg-a": {"tgt-a"}, "tg-b": {"tgt-b"}},
	}
	b := &Backend{}
	id := store.Identity{LUs: []store.LU{lu}, Zones: []store.Zone{{Name: "kz1", Host: "kz-host1"}}}
	peers := peerView{initiators: map[string][]string{"kz-host1": {"IQN.x:kz-host1"}}}
	if _, err := b.checkSessions(id, f, peers, store.Options{}); err != nil {
		t.Errorf("only the zone host's initiator: %v", err)
	}
	// Without the zone on it, the zone host's initiator is a stranger.
	_, err := b.checkSessions(store.Identity{LUs: []store.LU{lu}}, f, peers, store.Options{})
	if !errors.Is(err, engine.ErrNeedsConsent) || !strings.Contains(err.Error(), "iqn.x:kz-host1") {
		t.Errorf("no zone on the LU: %v, want a consent naming the initiator", err)
	}
	f.targets[1].Sessions = append(f.targets[1].Sessions, comstar.Session{Initiator: "iqn.x:win1", Alias: "win1"})
	w, err := b.checkSessions(id, f, peers, store.Options{})
	if !errors.Is(err, engine.ErrNeedsConsent) || !strings.Contains(err.Error(), "iqn.x:win1 (win1)") || strings.Contains(err.Error(), "other-a") {
		t.Errorf("win1 on tgt-b: %v, want a consent naming win1 and not other-a", err)
	}
	if len(w) != 2 || !strings.Contains(w[0], "tgt-a (LUN 0), tgt-b (LUN 7)") {
		t.Errorf("warnings %q: want kz-host1 once, through both targets (a line per initiator and LU), and win1", w)
	}
	if _, err := b.checkSessions(id, f, peers, store.Options{AcceptSessions: true}); err != nil {
		t.Errorf("--accept-sessions: %v", err)
	}
	// The refusal names the LU and its volume (in a group it is one line
	// of several, one per volume).
	id.Volume = "pool/idisk1"
	if _, err := b.checkSessions(id, f, peers, store.Options{}); err == nil ||
		!strings.Contains(err.Error(), "can see LU 600144F0A613C900000054521D550001 of pool/idisk1, and") {
		t.Errorf("the refusal does not name the LU and its volume: %v", err)
	}
}
