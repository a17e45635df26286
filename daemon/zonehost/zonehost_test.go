package zonehost

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/daemon/zones"
	"github.com/volctl/volctl/store"
)

// fakeZones is one zone whose state the actions change, counting them.
type fakeZones struct {
	mu    sync.Mutex
	state string
	runs  int
	fail  error
	block chan struct{}
	// rescues are the rescue verbs run: verb, zone, arguments.
	rescues []string
}

func (f *fakeZones) FindZones(context.Context, execx.RunFunc, zones.Query) (zones.Report, error) {
	return zones.Report{}, nil
}

func (f *fakeZones) ZoneAct(ctx context.Context, run execx.RunFunc, zone string, verb zones.Verb, _ func(string, ...any)) (string, error) {
	if f.block != nil {
		<-f.block
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.runs++
	if f.fail != nil {
		err := f.fail
		f.fail = nil
		return f.state, err
	}
	_, want := verb.Wanted()
	f.state = want[0]
	return f.state, nil
}

func (f *fakeZones) RescueAct(ctx context.Context, run execx.RunFunc, with string, verb zones.Verb, r zones.Rescue, _ func(string, ...any)) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.runs++
	f.rescues = append(f.rescues, string(verb)+" "+with+" "+r.String())
	return f.state, nil
}

func (f *fakeZones) ZoneErrorKind(err error) (bool, bool) {
	return strings.Contains(err.Error(), "Encryption key"), strings.Contains(err.Error(), "in use by host")
}

func newService(t *testing.T, f *fakeZones) *Service {
	db, err := store.Open(filepath.Join(t.TempDir(), "j.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &Service{Backend: f, DB: db, Log: hclog.NewNullLogger()}
}

// A key whose call succeeded is answered from the journal: the boot is not
// run again even though the zone was halted since (by an admin).
func TestActReplaysASucceededKey(t *testing.T) {
	f := &fakeZones{state: "installed"}
	s := newService(t, f)
	c, replayed, err := s.Act(context.Background(), "cert:CN=storage1", "h/op-1/boot-zones/kz1/boot", "kz1", zones.Boot, nil)
	if err != nil || replayed || !c.Done || c.State != "running" {
		t.Fatalf("first call: %+v %v %v", c, replayed, err)
	}
	f.state = "installed" // the admin halted it
	c, replayed, err = s.Act(context.Background(), "cert:CN=storage1", "h/op-1/boot-zones/kz1/boot", "kz1", zones.Boot, nil)
	if err != nil || !replayed || c.State != "running" || f.runs != 1 || f.state != "installed" {
		t.Fatalf("repeat: %+v replayed=%v err=%v runs=%d state=%s: want the journaled result, nothing run", c, replayed, err, f.runs, f.state)
	}
}

// A key whose call failed runs again (the action converges), and the
// record keeps both attempts.
func TestActRunsAFailedKeyAgain(t *testing.T) {
	f := &fakeZones{state: "installed", fail: errors.New("zoneadm: zone 'kz1': unable to boot")}
	s := newService(t, f)
	c, _, err := s.Act(context.Background(), "", "k1", "kz1", zones.Boot, nil)
	if err != nil || c.Done || c.Error == "" || c.Permanent {
		t.Fatalf("failed call: %+v %v", c, err)
	}
	c, replayed, err := s.Act(context.Background(), "", "k1", "kz1", zones.Boot, nil)
	if err != nil || replayed || !c.Done || c.Attempts != 2 || f.runs != 2 {
		t.Fatalf("retry: %+v replayed=%v err=%v runs=%d", c, replayed, err, f.runs)
	}
}

func TestActClassifiesErrors(t *testing.T) {
	f := &fakeZones{state: "configured", fail: errors.New("zone 'kz1': error: Encryption key is incorrect.")}
	s := newService(t, f)
	c, _, _ := s.Act(context.Background(), "", "k-key", "kz1", zones.Attach, nil)
	if !c.Permanent || c.InUse {
		t.Errorf("key error: permanent=%v in_use=%v", c.Permanent, c.InUse)
	}
	f.fail = errors.New("ERROR: zone kz1 is in use by host with  hostid 8f3a21c4")
	c, _, _ = s.Act(context.Background(), "", "k-use", "kz1", zones.Attach, nil)
	if c.Permanent || !c.InUse {
		t.Errorf("in use: permanent=%v in_use=%v", c.Permanent, c.InUse)
	}
}

// Two calls with one key at once run the action once.
func TestActConcurrentSameKey(t *testing.T) {
	f := &fakeZones{state: "installed", block: make(chan struct{})}
	s := newService(t, f)
	var wg sync.WaitGroup
	replays := make(chan bool, 2)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, replayed, err := s.Act(context.Background(), "", "k", "kz1", zones.Detach, nil)
			if err != nil {
				t.Error(err)
			}
			replays <- replayed
		}()
	}
	time.Sleep(50 * time.Millisecond)
	close(f.block)
	wg.Wait()
	close(replays)
	n := 0
	for r := range replays {
		if r {
			n++
		}
	}
	if f.runs != 1 || n != 1 {
		t.Errorf("runs=%d replays=%d, want the action once and one replay", f.runs, n)
	}
}

// A record left not done (the zone host's daemon died mid-call) is run
// again under the same key.
func TestActAfterACrashRunsAgain(t *testing.T) {
	f := &fakeZones{state: "installed"}
	s := newService(t, f)
	if err := s.DB.PutZoneCall(&store.ZoneCall{Key: "k", Zone: "kz1", Verb: string(zones.Detach), Attempts: 1}); err != nil {
		t.Fatal(err)
	}
	c, replayed, err := s.Act(context.Background(), "", "k", "kz1", zones.Detach, nil)
	if err != nil || replayed || !c.Done || c.Attempts != 2 || f.runs != 1 {
		t.Fatalf("%+v replayed=%v err=%v runs=%d", c, replayed, err, f.runs)
	}
}

func TestActRefusesBadInput(t *testing.T) {
	f := &fakeZones{state: "installed"}
	s := newService(t, f)
	if _, _, err := s.Act(context.Background(), "", "k", "kz1", zones.Detach, nil); err != nil {
		t.Fatal(err)
	}
	for name, call := range map[string][3]string{
		"key for another zone": {"k", "kz2", string(zones.Detach)},
		"key for another verb": {"k", "kz1", string(zones.Boot)},
		"empty key":            {"", "kz1", string(zones.Boot)},
		"long key":             {strings.Repeat("k", MaxKey+1), "kz1", string(zones.Boot)},
		"key with a newline":   {"k\n", "kz1", string(zones.Boot)},
		"zone like an option":  {"k2", "-z", string(zones.Boot)},
		"unknown verb":         {"k3", "kz1", "uninstall"},
	} {
		if _, _, err := s.Act(context.Background(), "", call[0], call[1], zones.Verb(call[2]), nil); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if f.runs != 1 {
		t.Errorf("bad input ran the action (%d runs)", f.runs)
	}
}
