package linuxtgt

import (
	"context"
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
// needs consent. It reads the host (hostFacts) and leaves every decision
// to assess; the LUs are read only when the snapshots alone do not refuse,
// so a refused capture asks tgtd nothing.
func (b *Backend) Capture(ctx context.Context, run execx.RunFunc, snapshot string, opts store.Options) (store.Identity, []string, error) {
	vol, snap, err := zvol.SplitSnapshot(snapshot)
	if err != nil {
		return store.Identity{}, nil, err
	}
	h := &hostFacts{vol: vol, snapshot: snapshot}
	if err := meaningless(opts); err != nil {
		return h.identity(), nil, err
	}
	if err := keepOptions(opts); err != nil {
		return h.identity(), nil, err
	}
	if opts.Forget != 0 {
		return b.captureForget(ctx, run, vol, snapshot, opts)
	}
	if h.ds, h.tree, err = b.tree(ctx, run, vol); err != nil {
		return h.identity(), nil, err
	}
	if _, err := assess(h, opts); refused(err) {
		return h.identity(), nil, err
	}
	if err := b.readExports(ctx, run, h, snap); err != nil {
		return h.identity(), nil, err
	}
	if keeps(opts) {
		if err := b.readKeep(ctx, run, h, opts); err != nil {
			return h.identity(), nil, err
		}
	}
	warnings, err := assess(h, opts)
	id := h.identity()
	id.Unchanged = err == nil && !keeps(opts) && zvol.ProvedUnchanged(id, h.written, len(opts.Group) > 0)
	return id, warnings, err
}

// readExports reads the rest of what the capture needs, once the snapshots
// do not refuse: what changed since the snapshot, and tgtd's targets.
func (b *Backend) readExports(ctx context.Context, run execx.RunFunc, h *hostFacts, snap string) error {
	feat, err := b.features()
	if err != nil {
		return err
	}
	if h.written = feat.Written; feat.Written {
		if h.writtenAt, err = zvol.Written(ctx, b.zfs(run), h.vol, snap); err != nil {
			return err
		}
	}
	if h.targets, err = b.show(ctx, run); err != nil {
		return err
	}
	h.exports = true
	return nil
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
