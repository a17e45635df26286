package engine

// Inventory calls: volumes and snapshots, read through the backend and
// changed under the volume's lock.

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/volctl/volctl/daemon/execx"
)

// ListVolumes lists volumes.
func (e *Engine) ListVolumes(ctx context.Context) ([]Volume, error) {
	if _, err := e.Probe(ctx); err != nil {
		return nil, err
	}
	return e.backend.ListVolumes(ctx, e.plainRun)
}

// GetVolume returns one volume.
func (e *Engine) GetVolume(ctx context.Context, name string) (Volume, error) {
	if _, err := e.backend.VolumeOf(name); err != nil {
		return Volume{}, err
	}
	if _, err := e.Probe(ctx); err != nil {
		return Volume{}, err
	}
	return e.backend.GetVolume(ctx, e.plainRun, name)
}

// Snapshots lists a volume's snapshots.
func (e *Engine) Snapshots(ctx context.Context, vol string) ([]Snapshot, error) {
	if _, err := e.backend.VolumeOf(vol); err != nil {
		return nil, err
	}
	if _, err := e.Probe(ctx); err != nil {
		return nil, err
	}
	return e.backend.Snapshots(ctx, e.plainRun, vol)
}

// snapshotVolume validates a snapshot name and returns its volume.
func (e *Engine) snapshotVolume(name string) (string, error) {
	if !strings.Contains(name, "@") {
		return "", fmt.Errorf("%q is not a snapshot name: want POOL/VOL@SNAP: %w", name, ErrInvalid)
	}
	return e.backend.VolumeOf(name)
}

// findSnapshot looks a snapshot up; an error is one of listing (a missing
// volume is ErrNotFound).
func (e *Engine) findSnapshot(ctx context.Context, vol, name string) (Snapshot, bool, error) {
	snaps, err := e.backend.Snapshots(ctx, e.plainRun, vol)
	if err != nil {
		return Snapshot{}, false, err
	}
	for _, s := range snaps {
		if s.Name == name {
			return s, true, nil
		}
	}
	return Snapshot{}, false, nil
}

// CreateSnapshot takes a snapshot under the volume's lock and reads it back.
func (e *Engine) CreateSnapshot(ctx context.Context, name string) (Snapshot, error) {
	s, err := e.CreateSnapshots(ctx, []string{name})
	if err != nil {
		return Snapshot{}, err
	}
	return s[0], nil
}

// CreateSnapshots takes snapshots of several volumes as one moment
// (TakeSnapshots), and returns them.
func (e *Engine) CreateSnapshots(ctx context.Context, names []string) ([]Snapshot, error) {
	g, err := e.TakeSnapshots(ctx, names)
	return g.Snapshots, err
}

// SnapshotGroup is what a snapshot request took, and how.
type SnapshotGroup struct {
	Snapshots []Snapshot
	Taken
}

// TakeSnapshots takes snapshots of several volumes as one moment (one
// platform command where it can; the backend says how, SnapshotTaker),
// under every volume's lock (taken in a fixed order), and reads each back.
// No snapshot may exist already, and each volume may appear once.
func (e *Engine) TakeSnapshots(ctx context.Context, names []string) (SnapshotGroup, error) {
	var g SnapshotGroup
	if len(names) == 0 {
		return g, fmt.Errorf("no snapshot named: %w", ErrInvalid)
	}
	vols := make([]string, len(names))
	var keys []string
	for i, name := range names {
		vol, err := e.snapshotVolume(name)
		if err != nil {
			return g, err
		}
		if slices.Contains(vols[:i], vol) {
			return g, fmt.Errorf("%s is named twice: one snapshot per volume: %w", vol, ErrInvalid)
		}
		vols[i] = vol
		keys = append(keys, volumeKey(vol))
	}
	slices.Sort(keys)
	if _, err := e.Probe(ctx); err != nil {
		return g, err
	}
	if err := e.journalWritable(); err != nil {
		return g, err
	}
	if err := e.locks.acquire(ctx, keys, 0, false); err != nil {
		return g, err
	}
	defer e.locks.release(keys)
	for i, name := range names {
		if _, found, err := e.findSnapshot(ctx, vols[i], name); err != nil || found {
			if found {
				err = fmt.Errorf("snapshot %s already exists: %w", name, ErrAlreadyExists)
			}
			return g, err
		}
	}
	if t, ok := e.backend.(SnapshotTaker); ok {
		taken, err := t.TakeSnapshots(ctx, e.plainRun, names)
		if err != nil {
			return g, err
		}
		g.Taken = taken
	} else {
		if err := e.backend.CreateSnapshots(ctx, e.plainRun, names); err != nil {
			return g, err
		}
		g.Method = "one zfs snapshot command"
	}
	g.Snapshots = make([]Snapshot, len(names))
	for i, name := range names {
		s, found, err := e.findSnapshot(ctx, vols[i], name)
		if err == nil && !found {
			err = fmt.Errorf("the snapshot command for %s exited 0 but the snapshot is not listed", name)
		}
		if err != nil {
			return g, err
		}
		g.Snapshots[i] = s
	}
	return g, nil
}

// DestroySnapshot destroys an existing snapshot under the volume's lock.
func (e *Engine) DestroySnapshot(ctx context.Context, name string) error {
	vol, err := e.snapshotVolume(name)
	if err != nil {
		return err
	}
	if _, err := e.Probe(ctx); err != nil {
		return err
	}
	if err := e.journalWritable(); err != nil {
		return err
	}
	keys := []string{volumeKey(vol)}
	if err := e.locks.acquire(ctx, keys, 0, false); err != nil {
		return err
	}
	defer e.locks.release(keys)
	// The operation that needs attention may need the snapshot to finish.
	if err := e.checkHeld(keys); err != nil {
		return err
	}
	if _, found, err := e.findSnapshot(ctx, vol, name); err != nil || !found {
		if !found && err == nil {
			err = fmt.Errorf("snapshot %s does not exist: %w", name, ErrNotFound)
		}
		return err
	}
	return e.backend.DestroySnapshot(ctx, e.plainRun, name)
}

// ZoneDisks is what a backend with zones offers: the volumes behind every
// device of a zone (ErrNotFound for no such zone, ErrPrecondition when a
// device is not a volume of this host).
type ZoneDisks interface {
	ZoneDisks(ctx context.Context, run execx.RunFunc, zone string) ([]string, error)
}

// SnapshotZone takes snapshot snap of every volume behind the zone's
// devices, as one moment (TakeZoneSnapshots).
func (e *Engine) SnapshotZone(ctx context.Context, zone, snap string) ([]Snapshot, error) {
	g, err := e.TakeZoneSnapshots(ctx, zone, snap)
	return g.Snapshots, err
}

// TakeZoneSnapshots takes snapshot snap of every volume behind the zone's
// devices, as one moment (TakeSnapshots).
func (e *Engine) TakeZoneSnapshots(ctx context.Context, zone, snap string) (SnapshotGroup, error) {
	vols, err := e.zoneVolumes(ctx, zone)
	if err != nil {
		return SnapshotGroup{}, err
	}
	if strings.ContainsAny(snap, "@/") || snap == "" {
		return SnapshotGroup{}, fmt.Errorf("snapshot name %q: with a zone, give the part after '@' only: %w", snap, ErrInvalid)
	}
	var names []string
	for _, v := range vols {
		names = append(names, v+"@"+snap)
	}
	return e.TakeSnapshots(ctx, names)
}

// zoneVolumes are the volumes of the zone's disks.
func (e *Engine) zoneVolumes(ctx context.Context, zone string) ([]string, error) {
	zd, ok := e.backend.(ZoneDisks)
	if !ok {
		return nil, fmt.Errorf("platform %s has no zones: %w", e.backend.Name(), ErrInvalid)
	}
	if _, err := e.Probe(ctx); err != nil {
		return nil, err
	}
	return zd.ZoneDisks(ctx, e.plainRun, zone)
}
