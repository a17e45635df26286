// Package zonehost is a zone host's side of the zone service: it answers a
// storage host's questions about this host's zones and runs the actions it
// asks for, each journaled under its idempotency key, so that a call
// repeated after a timeout, a lost answer or a crash of either daemon
// never detaches twice or boots a zone that the first call already booted
// (and an admin may have halted since).
package zonehost

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
	"unicode"

	"github.com/hashicorp/go-hclog"

	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/daemon/kz"
	"github.com/volctl/volctl/daemon/zones"
	"github.com/volctl/volctl/store"
)

// Backend is what the service needs of the platform (the Solaris backend).
type Backend interface {
	FindZones(ctx context.Context, run execx.RunFunc, q zones.Query) (zones.Report, error)
	ZoneAct(ctx context.Context, run execx.RunFunc, zone string, verb zones.Verb, note func(string, ...any)) (string, error)
	// RescueAct runs a rescue verb on the rescue zone with (rescue.go
	// checked the arguments' form; the backend checks the zones).
	RescueAct(ctx context.Context, run execx.RunFunc, with string, verb zones.Verb, r zones.Rescue, note func(string, ...any)) (string, error)
	// ZoneErrorKind says whether a ZoneAct error is permanent (a key
	// error) or an in-use refusal (force-takeover could help).
	ZoneErrorKind(err error) (permanent, inUse bool)
}

// Service answers the zone service.
type Service struct {
	Backend    Backend
	DB         *store.DB
	Initiators []string
	// Timeout is each command's deadline; MaxOutput caps its output.
	Timeout   func(argv []string) time.Duration
	MaxOutput int
	Log       hclog.Logger

	mu    sync.Mutex
	zones map[string]*sync.Mutex
}

// Errors the server maps to codes.
var (
	// ErrInvalid: a bad key, zone name or verb.
	ErrInvalid = errors.New("invalid zone call")
)

// MaxKey bounds an idempotency key.
const MaxKey = 256

// recorder runs commands under the configured deadline and keeps each.
type recorder struct {
	s    *Service
	mu   sync.Mutex
	cmds []store.Command
}

func (r *recorder) run(ctx context.Context, argv []string) (*execx.Result, error) {
	d := 2 * time.Minute
	if r.s.Timeout != nil {
		d = r.s.Timeout(argv)
	}
	x := execx.Runner{Timeout: d, MaxOutput: r.s.MaxOutput}
	res, err := x.Run(ctx, argv)
	c := store.Command{Argv: res.Argv, Exit: res.Exit, Stdout: string(res.Stdout), Stderr: string(res.Stderr),
		Started: res.Started.UTC(), Duration: res.Duration}
	if res.Err != nil {
		c.Err = res.Err.Error()
	}
	r.mu.Lock()
	r.cmds = append(r.cmds, c)
	r.mu.Unlock()
	return res, err
}

// Find answers FindZones, with the commands it ran.
func (s *Service) Find(ctx context.Context, q zones.Query) (zones.Report, error) {
	if q.Zone != "" {
		if err := kz.ValidateZoneName(q.Zone); err != nil {
			return zones.Report{}, fmt.Errorf("%w: zone %q: %v", ErrInvalid, q.Zone, err)
		}
	}
	rec := &recorder{s: s}
	r, err := s.Backend.FindZones(ctx, rec.run, q)
	r.Initiators = s.Initiators
	r.Commands = rec.cmds
	return r, err
}

func (s *Service) lockZone(zone string) func() {
	s.mu.Lock()
	if s.zones == nil {
		s.zones = map[string]*sync.Mutex{}
	}
	m := s.zones[zone]
	if m == nil {
		m = &sync.Mutex{}
		s.zones[zone] = m
	}
	s.mu.Unlock()
	m.Lock()
	return m.Unlock
}

func checkKey(key string) error {
	if key == "" || len(key) > MaxKey {
		return fmt.Errorf("%w: idempotency key must be 1 to %d bytes", ErrInvalid, MaxKey)
	}
	for _, c := range key {
		if !unicode.IsPrint(c) || c > unicode.MaxASCII {
			return fmt.Errorf("%w: idempotency key %q: printable ASCII only", ErrInvalid, key)
		}
	}
	return nil
}

// Act runs one zone action under its key. A key whose call succeeded
// returns that record (replayed) and runs nothing; a key whose call
// failed, or was cut short by a crash, runs again (every action reads the
// zone's state first, so a repeat converges). Actions on one zone run one
// at a time. The action does not end with the caller's context: once
// started it runs to its result (bounded by the command deadlines), so
// the journal holds it for the retry.
//
// A rescue verb (rescue set) acts on the rescue zone; its arguments are
// checked here (checkRescue) and journaled with the key, and both zones
// are locked.
func (s *Service) Act(ctx context.Context, caller, key, zone string, verb zones.Verb, rescue *zones.Rescue) (*store.ZoneCall, bool, error) {
	if err := checkKey(key); err != nil {
		return nil, false, err
	}
	if err := kz.ValidateZoneName(zone); err != nil {
		return nil, false, fmt.Errorf("%w: zone %q: %v", ErrInvalid, zone, err)
	}
	if err := verb.Valid(); err != nil {
		return nil, false, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	var args string
	locked := []string{zone}
	switch {
	case verb.IsRescue() && rescue == nil:
		return nil, false, fmt.Errorf("%w: %s of zone %s without its rescue arguments", ErrInvalid, verb, zone)
	case !verb.IsRescue() && rescue != nil:
		return nil, false, fmt.Errorf("%w: %s of zone %s takes no rescue arguments", ErrInvalid, verb, zone)
	case rescue != nil:
		if err := checkRescue(zone, *rescue); err != nil {
			return nil, false, err
		}
		args = rescue.String()
		locked = append(locked, rescue.Zone)
		slices.Sort(locked) // one order: two calls never wait on each other
	}
	for _, z := range locked {
		unlock := s.lockZone(z)
		defer unlock()
	}
	c, err := s.DB.GetZoneCall(key)
	if err != nil {
		return nil, false, err
	}
	switch {
	case c != nil && (c.Zone != zone || c.Verb != string(verb) || c.Args != args):
		return nil, false, fmt.Errorf("%w: key %q was used for %s of zone %s (%s), not %s of %s (%s): %w",
			ErrInvalid, key, c.Verb, c.Zone, c.Args, verb, zone, args, store.ErrKeyMismatch)
	case c != nil && c.Done:
		s.Log.Info("zone call replayed from the journal", "key", key, "zone", zone, "verb", verb, "caller", caller, "state", c.State)
		return c, true, nil
	case c == nil:
		c = &store.ZoneCall{Key: key, Caller: caller, Zone: zone, Verb: string(verb), Args: args, Started: time.Now().UTC()}
	}
	c.Attempts++
	c.Updated = time.Now().UTC()
	c.Error, c.Permanent, c.InUse = "", false, false
	// Journaled before anything runs: a crash from here on leaves a record
	// that is not done, and the retry runs the (converging) action again.
	if err := s.DB.PutZoneCall(c); err != nil {
		return nil, false, err
	}
	rec := &recorder{s: s}
	actx := context.WithoutCancel(ctx)
	var notes []string
	note := func(f string, a ...any) { notes = append(notes, fmt.Sprintf(f, a...)) }
	var st string
	var aerr error
	if rescue != nil {
		st, aerr = s.Backend.RescueAct(actx, rec.run, zone, verb, *rescue, note)
	} else {
		st, aerr = s.Backend.ZoneAct(actx, rec.run, zone, verb, note)
	}
	c.Commands = append(c.Commands, rec.cmds...)
	c.State, c.Updated, c.Done = st, time.Now().UTC(), aerr == nil
	if aerr != nil {
		c.Error = aerr.Error()
		c.Permanent, c.InUse = s.Backend.ZoneErrorKind(aerr)
	}
	s.Log.Info("zone call", "key", key, "zone", zone, "verb", verb, "caller", caller, "state", st, "error", c.Error, "notes", notes)
	if err := s.DB.PutZoneCall(c); err != nil {
		// The caller retries with the same key; the action converges.
		return nil, false, fmt.Errorf("journal the result of %s of zone %s: %w", verb, zone, err)
	}
	return c, false, nil
}
