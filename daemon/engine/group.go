package engine

// Group rollbacks: several volumes (the disks of a zone) in one operation,
// one outage window (issue 12). The request names them (Request.More, or
// Request.Zone); the engine captures each, joins their zones, locks every
// volume and zone in a fixed order, and journals one operation whose
// Identity is the first volume's and Members the others'.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/store"
)

// Groups is what a backend that rolls back several volumes as one
// operation says it does (its Steps read op.Members).
type Groups interface {
	GroupRollbacks() bool
}

// resolveGroup turns the request into its snapshots: Snapshot and More,
// or (Zone) Snapshot of every volume behind the zone's devices. It sets
// req.Snapshot to the first and req.Options.Group to all of them when
// there are several, and returns the volumes.
func (e *Engine) resolveGroup(ctx context.Context, req *Request) ([]string, error) {
	if req.volumes != nil { // a rescue's (rescue.go)
		return req.volumes, nil
	}
	snaps := append([]string{req.Snapshot}, req.More...)
	if req.Zone != "" {
		if len(req.More) > 0 {
			return nil, fmt.Errorf("a zone's rollback names its volumes itself: give the snapshot name only: %w", ErrInvalid)
		}
		if strings.ContainsAny(req.Snapshot, "@/") || req.Snapshot == "" {
			return nil, fmt.Errorf("snapshot name %q: with a zone, give the part after '@' only: %w", req.Snapshot, ErrInvalid)
		}
		vols, err := e.zoneVolumes(ctx, req.Zone)
		if err != nil {
			return nil, err
		}
		snaps = nil
		for _, v := range vols {
			snaps = append(snaps, v+"@"+req.Snapshot)
		}
	}
	var vols []string
	for _, s := range snaps {
		v, err := e.backend.VolumeOf(s)
		if err != nil {
			return nil, err
		}
		if slices.Contains(vols, v) {
			return nil, fmt.Errorf("%s is named twice: one snapshot per volume: %w", v, ErrInvalid)
		}
		vols = append(vols, v)
	}
	if len(snaps) > 1 {
		if g, ok := e.backend.(Groups); !ok || !g.GroupRollbacks() {
			return nil, fmt.Errorf("platform %s rolls back one volume per operation: %w", e.backend.Name(), ErrInvalid)
		}
		req.Options.Group = snaps
	}
	req.Snapshot, req.More, req.Zone = snaps[0], nil, ""
	return vols, nil
}

// groupSnapshots are the request's snapshots after resolveGroup.
func groupSnapshots(req Request) []string {
	if len(req.Options.Group) > 0 {
		return req.Options.Group
	}
	return []string{req.Snapshot}
}

// captureGroup captures every volume of the request. A missing consent
// does not stop it (the plan shows everything, and says what it lacks);
// any other error does. The zones of all volumes go into the first
// identity, once each.
func (e *Engine) captureGroup(ctx context.Context, run execx.RunFunc, req Request) ([]store.Identity, []string, error) {
	snaps := groupSnapshots(req)
	type result struct {
		id       store.Identity
		warnings []string
		err      error
	}
	// The volumes are captured side by side (each reads only), at most
	// captureParallel at once.
	res := make([]result, len(snaps))
	sem := make(chan struct{}, captureParallel)
	var wg sync.WaitGroup
	for i, snap := range snaps {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			id, w, err := e.backend.Capture(ctx, run, snap, req.Options)
			res[i] = result{id, w, err}
		}()
	}
	wg.Wait()
	var ids []store.Identity
	var warnings []string
	var consent []error
	seen := map[string]bool{}
	for _, r := range res {
		if r.err != nil && !errors.Is(r.err, ErrNeedsConsent) {
			return nil, nil, r.err
		}
		for _, x := range r.warnings {
			if !slices.Contains(warnings, x) {
				warnings = append(warnings, x)
			}
		}
		if r.err != nil {
			for _, c := range flattenJoin(r.err) {
				if !seen[c.Error()] {
					seen[c.Error()] = true
					consent = append(consent, c)
				}
			}
		}
		ids = append(ids, r.id)
	}
	for i := 1; i < len(ids); i++ {
		for _, z := range ids[i].Zones {
			if !slices.ContainsFunc(ids[0].Zones, func(y store.Zone) bool { return y.Name == z.Name && y.Host == z.Host }) {
				ids[0].Zones = append(ids[0].Zones, z)
			}
		}
		ids[i].Zones = nil
	}
	return ids, warnings, errors.Join(consent...)
}

// captureParallel bounds the captures of a group run at once.
const captureParallel = 8

func flattenJoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flattenJoin(e)...)
		}
		return out
	}
	return []error{err}
}
