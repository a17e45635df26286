package linuxtgt

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/daemon/tgt"
	"github.com/volctl/volctl/daemon/zfs"
	"github.com/volctl/volctl/daemon/zvol"
	"github.com/volctl/volctl/store"
)

// show lists tgtd's targets.
func (b *Backend) show(ctx context.Context, run execx.RunFunc) ([]tgt.Target, error) {
	ts, err := b.tgt(run).Show(ctx)
	if err != nil {
		if tgt.IsNotConnected(execx.Stderr(err)) {
			return nil, fmt.Errorf("tgtd does not answer (is it running; is the control port right?): %w", err)
		}
		return nil, fmt.Errorf("list tgt targets: %w", err)
	}
	return ts, nil
}

// onVolume is one LU found on a volume, with its target.
type onVolume struct {
	t    tgt.Target
	u    tgt.LUN
	kind string
}

// lusOn finds every LU (LUN 0, the controller, never has a backing store)
// whose backing store is on ds.
func lusOn(ts []tgt.Target, ds zfs.Info, tree []zfs.Info) []onVolume {
	var out []onVolume
	for _, t := range ts {
		for _, u := range t.LUNs {
			if kind, ok := backs(u.BackingPath, ds, tree); ok {
				out = append(out, onVolume{t, u, kind})
			}
		}
	}
	return out
}

// Capture implements engine.Backend: validate, resolve the snapshot and the
// newer ones, capture the LUs and their targets' bindings, and refuse what
// needs consent.
func (b *Backend) Capture(ctx context.Context, run execx.RunFunc, snapshot string, opts store.Options) (store.Identity, []string, error) {
	vol, snap, err := zvol.SplitSnapshot(snapshot)
	if err != nil {
		return store.Identity{}, nil, err
	}
	id := store.Identity{Volume: vol, Snapshot: snapshot}
	if err := meaningless(opts); err != nil {
		return id, nil, err
	}
	ds, tree, err := b.tree(ctx, run, vol)
	if err != nil {
		return id, nil, err
	}
	id.Volsize = ds.Volsize
	snaps := zfs.SnapshotsOf(tree, vol)
	names := make([]string, len(snaps))
	for i, s := range snaps {
		names[i] = s.Name
	}
	// A missing consent does not stop the capture: the dry run shows the
	// whole plan and says which consent it lacks.
	var consent []error
	at, err := zvol.Resolve(&id, names, opts)
	if errors.Is(err, engine.ErrNeedsConsent) {
		consent = append(consent, err)
	} else if err != nil {
		return id, nil, err
	}
	var held []string
	for _, s := range snaps[at+1:] {
		if s.Userrefs > 0 {
			held = append(held, s.Name)
		}
	}
	if len(held) > 0 {
		// rollback -r destroys the newer snapshots one by one and stops at a
		// held one, after the others are gone (docs/platform/zfs.md §3.4).
		return id, nil, fmt.Errorf("the newer snapshots %s have user holds: zfs rollback -r would destroy the others and then fail; release the holds first: %w",
			strings.Join(held, ", "), engine.ErrPrecondition)
	}
	feat, err := b.features()
	if err != nil {
		return id, nil, err
	}
	var warnings []string
	if feat.Written {
		if id.WrittenBefore, err = zvol.Written(ctx, b.zfs(run), vol, snap); err != nil {
			return id, nil, err
		}
	} else {
		// zfs-fuse: the snapshot's used is the signal (docs/platform/zfs.md §9.2).
		id.WrittenBefore = snaps[at].Used
	}

	ts, err := b.show(ctx, run)
	if err != nil {
		return id, nil, err
	}
	found := lusOn(ts, ds, tree)
	tids := map[int]bool{}
	for _, f := range found {
		if f.u.LUN == 0 || f.u.Type != "disk" {
			return id, nil, fmt.Errorf("LUN %d of target %s (%s) is a %s: volctl restores disk LUs only: %w",
				f.u.LUN, f.t.Name, f.u.BackingPath, f.u.Type, engine.ErrPrecondition)
		}
		for _, p := range []struct{ k, v string }{{"scsi_id", f.u.SCSIID}, {"scsi_sn", f.u.SCSISN}} {
			if err := tgt.ValidateParam(p.k, p.v, 0); err != nil {
				return id, nil, fmt.Errorf("LUN %d of target %s: %v: it could not be restored after the rollback: %w",
					f.u.LUN, f.t.Name, err, engine.ErrPrecondition)
			}
		}
		id.LUs = append(id.LUs, toStoreLU(f.t, f.u, f.kind))
		tids[f.t.TID] = true
	}
	for _, t := range ts {
		if !tids[t.TID] {
			continue
		}
		if len(t.Nexuses) > 0 {
			var who []string
			for _, n := range t.Nexuses {
				who = append(who, fmt.Sprintf("%s (session %d)", n.Initiator, n.ID))
			}
			if !opts.AcceptSessions {
				consent = append(consent, fmt.Errorf("initiators are connected to target %s: %s; the rollback changes the data under them. Log them out first, or consent to dropping their connections (they reconnect once the LU is back): %w",
					t.Name, strings.Join(who, ", "), engine.NeedsConsent(engine.ConsentAcceptSessions)))
			}
			warnings = append(warnings, fmt.Sprintf("target %s: the connections of %s are dropped; they may replay queued writes when they reconnect after the rollback, and their caches hold pre-rollback data",
				t.Name, strings.Join(who, ", ")))
		}
		for _, u := range t.LUNs {
			if _, on := backs(u.BackingPath, ds, tree); !on && u.LUN != 0 {
				warnings = append(warnings, fmt.Sprintf("target %s also exports LUN %d (%s), which is not on %s: no new login reaches it while the bindings are removed",
					t.Name, u.LUN, u.BackingPath, vol))
			}
		}
		if len(t.ACL) == 0 {
			warnings = append(warnings, fmt.Sprintf("target %s has no ACL rule: no initiator can log in now, and none will after", t.Name))
		}
	}
	if len(id.LUs) == 0 {
		warnings = append(warnings, fmt.Sprintf("no tgt LU is backed by %s: only the zfs rollback will run", vol))
	} else {
		warnings = append(warnings, "tgtadm does not show vendor_id/product_id: an LU comes back with tgtd's (IET, VIRTUAL-DISK) unless they were the defaults")
	}
	switch {
	case id.WrittenBefore == 0 && feat.Written:
		warnings = append(warnings, fmt.Sprintf("%s has not changed since %s: the rollback changes no data", vol, snapshot))
	case id.WrittenBefore == 0:
		warnings = append(warnings, fmt.Sprintf("%s holds no space of its own (used 0): either %s has not changed since, or its changes are not synced yet; this zfs has no written@, so a rollback that fails is judged by used@ alone",
			snapshot, vol))
	}
	return id, warnings, errors.Join(consent...)
}

// meaningless refuses the options that mean nothing here, before anything
// runs: a Linux host has no zones (so no --halt-zones, --keep-hostdata or
// peers to skip). Accepting them silently would let an admin believe they
// did something.
func meaningless(opts store.Options) error {
	var bad []string
	if opts.HaltZones {
		bad = append(bad, "halt_zones")
	}
	if opts.KeepHostdata {
		bad = append(bad, "keep_hostdata")
	}
	if len(opts.SkipPeers) > 0 {
		bad = append(bad, "skip_peers")
	}
	if len(bad) == 0 {
		return nil
	}
	return fmt.Errorf("%s: the linux-tgt platform has no zones, so %s nothing here; leave %s out: %w",
		strings.Join(bad, ", "), means(len(bad)), them(len(bad)), engine.InvalidOptions(bad...))
}

func means(n int) string {
	if n == 1 {
		return "it means"
	}
	return "they mean"
}

func them(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}
