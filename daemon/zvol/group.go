package zvol

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/daemon/zfs"
)

// A group's snapshots as one moment, on every platform
// (docs/platform/zfs-snapshot.md). illumos and OpenZFS take them with one
// `zfs snapshot A@S B@S`, atomically; Oracle Solaris refuses a second
// operand ("too many arguments"). There, `zfs snapshot -r PARENT@S` is
// atomic for PARENT and everything below it, so it serves when the volumes
// are exactly what is below PARENT; otherwise they are taken one after the
// other only while nothing can write to them, and never left half taken.

// Group is what the host offers for a group's snapshots.
type Group struct {
	// Many: one zfs snapshot command takes several snapshots (probed);
	// ManyDetail is what the probe saw.
	Many       bool
	ManyDetail string
	// Quiet says whether anything can write to the volumes (a running zone,
	// an initiator logged in to their LUs), and if not, who was asked: a
	// summary for the caller. Its refusals wrap engine.ErrPrecondition and
	// say what to do; any other error is a failure to find out. Nil: this
	// host cannot tell, so snapshots one after the other are never taken.
	Quiet func(ctx context.Context, vols []string) (string, error)
}

// TakeGroup takes names (VOL@SNAP, distinct volumes; none of them exists
// yet, which the engine checked under the volumes' locks) as one moment:
//
//  1. one zfs snapshot command, where the host's takes several (atomic),
//     or where there is one snapshot;
//  2. else `zfs snapshot -r PARENT@SNAP` when the volumes are exactly the
//     filesystems and volumes below PARENT (atomic; it takes PARENT@SNAP
//     too, which Taken.Also names);
//  3. else one by one, while Quiet says nothing can write to them (asked
//     before and again after: if that changed, what was taken is
//     destroyed);
//  4. else a refusal (engine.ErrPrecondition) that says why each way is
//     closed and what to do.
//
// A failure part-way destroys exactly the snapshots this call created;
// what could not be destroyed is named.
func TakeGroup(ctx context.Context, z zfs.Cmd, names []string, g Group) (engine.Taken, error) {
	vols := make([]string, len(names))
	snaps := map[string]bool{}
	for i, n := range names {
		v, s, err := SplitSnapshot(n)
		if err != nil {
			return engine.Taken{}, err
		}
		vols[i] = v
		snaps[s] = true
	}
	if len(names) == 1 || g.Many {
		if err := z.TakeSnapshots(ctx, names...); err != nil {
			return engine.Taken{}, fmt.Errorf("snapshot %s: %w", strings.Join(names, " "), err)
		}
		return engine.Taken{Method: "taken atomically by one zfs snapshot"}, nil
	}
	many := "this host's zfs takes one snapshot per command (probed at start: " + g.ManyDetail + ")"

	// 2. zfs snapshot -r of the one dataset they are all below.
	var whyNotR string
	parent := commonParent(vols)
	switch {
	case len(snaps) > 1:
		whyNotR = "the snapshots have different names, and it gives every dataset the same"
	case parent == "":
		whyNotR = "the volumes are in different pools, so no one dataset has them all below it"
	default:
		snap := strings.SplitN(names[0], "@", 2)[1]
		t, why, err := takeRecursive(ctx, z, parent, snap, vols, names)
		if err != nil || why == "" {
			return t, err
		}
		whyNotR = why
	}

	// 3. one by one, while nothing writes.
	if g.Quiet == nil {
		return engine.Taken{}, refuse(names, many, whyNotR, "this host cannot tell whether anything writes to them")
	}
	before, err := g.Quiet(ctx, vols)
	if errors.Is(err, engine.ErrPrecondition) {
		return engine.Taken{}, refuse(names, many, whyNotR, err.Error())
	}
	if err != nil {
		return engine.Taken{}, fmt.Errorf("%s: before taking them one by one, volctl must know that nothing writes to them: %w", strings.Join(names, ", "), err)
	}
	var done []string
	for _, n := range names {
		if err := z.Snapshot(ctx, n); err != nil {
			var maybe []string
			if !exited(err) {
				maybe = []string{n}
			}
			return engine.Taken{}, undo(ctx, z, fmt.Errorf("taking the snapshots one by one: snapshot %s: %v", n, err), done, maybe)
		}
		done = append(done, n)
	}
	if _, err := g.Quiet(ctx, vols); err != nil {
		return engine.Taken{}, undo(ctx, z, fmt.Errorf("after taking the snapshots one by one, volctl could not confirm that nothing had written to the volumes meanwhile (%v)", err), done, nil)
	}
	return engine.Taken{Method: "taken one by one, as nothing could write to them meanwhile (" + before + "); " +
		"this host's zfs takes one snapshot per command, and zfs snapshot -r does not fit: " + whyNotR}, nil
}

// takeRecursive takes PARENT@SNAP with -r when the volumes are exactly
// what is below PARENT; otherwise it says why not (and takes nothing).
func takeRecursive(ctx context.Context, z zfs.Cmd, parent, snap string, vols, names []string) (engine.Taken, string, error) {
	below, err := z.Descendants(ctx, parent)
	if err != nil {
		return engine.Taken{}, "", fmt.Errorf("list the datasets below %s: %w", parent, err)
	}
	var other []string
	for _, d := range below {
		if !slices.Contains(vols, d) {
			other = append(other, d)
		}
	}
	for _, v := range vols {
		if !slices.Contains(below, v) {
			return engine.Taken{}, "", fmt.Errorf("zfs list -r %s does not show %s: refusing to trust the listing", parent, v)
		}
	}
	if len(other) > 0 {
		if len(other) > 3 {
			other = append(other[:3], fmt.Sprintf("and %d more", len(other)-3))
		}
		return engine.Taken{}, fmt.Sprintf("%s, the one dataset they are all below, has other datasets below it too (%s), which it would take as well",
			parent, strings.Join(other, ", ")), nil
	}
	top := parent + "@" + snap
	ex, err := z.Existing(ctx, top)
	if err != nil {
		return engine.Taken{}, "", fmt.Errorf("look up %s: %w", top, err)
	}
	if ex[top] {
		return engine.Taken{}, fmt.Sprintf("%s exists already (another snapshot name would do)", top), nil
	}
	all := append([]string{top}, names...)
	if err := z.SnapshotRecursive(ctx, top); err != nil {
		// One transaction: all or nothing, unless its end is not known.
		var maybe []string
		if !exited(err) {
			maybe = all
		}
		return engine.Taken{}, "", undo(ctx, z, fmt.Errorf("snapshot -r %s: %v", top, err), nil, maybe)
	}
	ex, err = z.Existing(ctx, names...)
	if err != nil {
		return engine.Taken{}, "", undo(ctx, z, fmt.Errorf("zfs snapshot -r %s exited 0, but its snapshots could not be read back (%v)", top, err), nil, all)
	}
	for _, n := range names {
		if !ex[n] {
			// illumos's -r skips a dataset still being received
			// (zfs_snapshot_cb, the inconsistent property).
			return engine.Taken{}, "", undo(ctx, z, fmt.Errorf("zfs snapshot -r %s exited 0 but did not take %s", top, n), nil, all)
		}
	}
	return engine.Taken{Method: fmt.Sprintf("taken atomically by zfs snapshot -r %s, which also took %s: the volumes are all of %s's descendants, and this host's zfs takes one snapshot per command",
		top, top, parent), Also: []string{top}}, "", nil
}

// commonParent is the deepest dataset that has every volume below it, ""
// when they are in different pools.
func commonParent(vols []string) string {
	first := strings.Split(vols[0], "/")
	n := len(first) - 1
	for _, v := range vols[1:] {
		p := strings.Split(v, "/")
		m := 0
		for m < n && m < len(p)-1 && p[m] == first[m] {
			m++
		}
		n = m
	}
	return strings.Join(first[:n], "/")
}

// exited reports a command that ran to an exit status (so a refusal is
// known to have changed nothing); a killed or unstarted one did not.
func exited(err error) bool {
	var xe *execx.Error
	return errors.As(err, &xe) && xe.R.Err == nil && xe.R.Exit > 0
}

// refuse is the refusal when no way gives one moment: what stands in the
// way of one by one first (it says what to do), then why zfs cannot take
// them at once.
func refuse(names []string, many, whyNotR, whyNotOneByOne string) error {
	whyNotOneByOne = strings.TrimSuffix(whyNotOneByOne, ": "+engine.ErrPrecondition.Error())
	return fmt.Errorf("none of %s was taken: one after the other they would not be one moment: %s. zfs cannot take them at once here: %s; "+
		"and zfs snapshot -r does not fit: %s (keeping a zone's disks under a dataset of their own, with nothing else below it, lets it take them at once): %w",
		strings.Join(names, ", "), whyNotOneByOne, many, whyNotR, engine.ErrPrecondition)
}

// undo destroys the snapshots this request created (done), and those of
// maybe that exist (a command whose end is not known), after cause. It
// never runs with the caller's cancellation: a request cut short must not
// leave half a group. The error says what is left: nothing (ErrStepFailed),
// or the snapshots it could not destroy (ErrNeedsAttention).
func undo(ctx context.Context, z zfs.Cmd, cause error, done, maybe []string) error {
	ctx = context.WithoutCancel(ctx)
	targets := append([]string(nil), done...)
	var left []string
	var problems []string
	if len(maybe) > 0 {
		ex, err := z.Existing(ctx, maybe...)
		if err != nil {
			problems = append(problems, fmt.Sprintf("could not tell which of %s exist (%v)", strings.Join(maybe, ", "), err))
			left = append(left, maybe...)
		}
		for _, n := range maybe {
			if ex[n] && !slices.Contains(targets, n) {
				targets = append(targets, n)
			}
		}
	}
	var destroyed []string
	for _, n := range targets {
		if err := z.Destroy(ctx, n); err != nil {
			problems = append(problems, fmt.Sprintf("destroy %s: %v", n, err))
			left = append(left, n)
			continue
		}
		destroyed = append(destroyed, n)
	}
	what := "nothing had been taken"
	if len(destroyed) > 0 {
		what = "destroyed " + strings.Join(destroyed, ", ") + ", which this request had taken"
	}
	if len(left) == 0 {
		return fmt.Errorf("%v; %s, so none of the group is left: %w", cause, what, engine.ErrStepFailed)
	}
	if len(destroyed) > 0 {
		what += "; but"
	} else {
		what = "volctl could not destroy what this request had taken:"
	}
	return fmt.Errorf("%v; %s %s may still exist (%s): destroy them (volctl destroy-snapshot) before taking the group again: %w",
		cause, what, strings.Join(left, ", "), strings.Join(problems, "; "), engine.ErrNeedsAttention)
}
