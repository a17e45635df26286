package engine

// Inventory calls: volumes and snapshots, read through the backend and
// changed under the volume's lock.

import (
	"context"
	"fmt"
	"strings"
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
	vol, err := e.snapshotVolume(name)
	if err != nil {
		return Snapshot{}, err
	}
	if _, err := e.Probe(ctx); err != nil {
		return Snapshot{}, err
	}
	if err := e.journalWritable(); err != nil {
		return Snapshot{}, err
	}
	keys := []string{volumeKey(vol)}
	if err := e.locks.acquire(ctx, keys, 0, false); err != nil {
		return Snapshot{}, err
	}
	defer e.locks.release(keys)
	if _, found, err := e.findSnapshot(ctx, vol, name); err != nil || found {
		if found {
			err = fmt.Errorf("snapshot %s already exists: %w", name, ErrAlreadyExists)
		}
		return Snapshot{}, err
	}
	if err := e.backend.CreateSnapshot(ctx, e.plainRun, name); err != nil {
		return Snapshot{}, err
	}
	s, found, err := e.findSnapshot(ctx, vol, name)
	if err == nil && !found {
		err = fmt.Errorf("the snapshot command for %s exited 0 but the snapshot is not listed", name)
	}
	return s, err
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
	if _, found, err := e.findSnapshot(ctx, vol, name); err != nil || !found {
		if !found && err == nil {
			err = fmt.Errorf("snapshot %s does not exist: %w", name, ErrNotFound)
		}
		return err
	}
	return e.backend.DestroySnapshot(ctx, e.plainRun, name)
}
