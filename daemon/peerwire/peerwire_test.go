package peerwire

import (
	"reflect"
	"testing"
	"time"

	"github.com/volctl/volctl/daemon/zones"
	v1 "github.com/volctl/volctl/proto/volctl/v1"
	"github.com/volctl/volctl/store"
)

// TestVerbs: every zone verb has its own API form and comes back from it;
// every API verb but UNSPECIFIED is a zone verb.
func TestVerbs(t *testing.T) {
	seen := map[v1.ZoneVerb]zones.Verb{}
	for _, v := range zones.Verbs {
		p := ToVerb(v)
		if p == v1.ZoneVerb_ZONE_VERB_UNSPECIFIED {
			t.Errorf("zone verb %s has no API form", v)
			continue
		}
		if other, ok := seen[p]; ok {
			t.Errorf("zone verbs %s and %s are both %s", other, v, p)
		}
		seen[p] = v
		if back, ok := FromVerb(p); !ok || back != v {
			t.Errorf("FromVerb(%s) = %q, %v; want %q", p, back, ok, v)
		}
	}
	for n := range v1.ZoneVerb_name {
		p := v1.ZoneVerb(n)
		v, ok := FromVerb(p)
		if want := p != v1.ZoneVerb_ZONE_VERB_UNSPECIFIED; ok != want {
			t.Errorf("FromVerb(%s) = %q, %v; want ok %v", p, v, ok, want)
		}
	}
	if v, ok := FromVerb(v1.ZoneVerb(1 << 20)); ok {
		t.Errorf("FromVerb(unknown number) = %q, true", v)
	}
	if p := ToVerb("reboot"); p != v1.ZoneVerb_ZONE_VERB_UNSPECIFIED {
		t.Errorf("ToVerb(reboot) = %s, want UNSPECIFIED", p)
	}
}

// TestCommandRoundTrip: a command record the zone host sends comes back
// on the storage host whole, Host set to the peer; every field of the
// record and of CommandRun is carried (a field added to one and not
// converted fails here).
func TestCommandRoundTrip(t *testing.T) {
	c := store.Command{Argv: []string{"/usr/sbin/zoneadm", "-z", "kz1", "detach"}, Exit: 1, Stdout: "out", Stderr: "zoneadm: busy",
		Started: time.Date(2025, 3, 1, 10, 0, 0, 5, time.UTC), Duration: 1500 * time.Millisecond, Err: "killed at its deadline", Host: "sent-host"}
	rv := reflect.ValueOf(c)
	for i := 0; i < rv.NumField(); i++ {
		if rv.Field(i).IsZero() {
			t.Fatalf("the test's record leaves %s zero: set every field", rv.Type().Field(i).Name)
		}
	}
	p := Command(c)
	fields := p.ProtoReflect().Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		if fd := fields.Get(i); !p.ProtoReflect().Has(fd) {
			t.Errorf("Command leaves CommandRun.%s unset", fd.Name())
		}
	}
	if p.GetHost() != "sent-host" {
		t.Errorf("Command host %q, want sent-host", p.GetHost())
	}
	got := Commands("kz-host1", []*v1.CommandRun{p})
	want := c
	want.Host = "kz-host1"
	if len(got) != 1 || !reflect.DeepEqual(got[0], want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
	}
	if Commands("kz-host1", nil) != nil {
		t.Error("Commands(nil) is not nil")
	}
	if Command(store.Command{}).GetStarted() != nil {
		t.Error("a record without a start time is sent with one")
	}
}
