package engine

// The backend contract: what the engine needs of a platform. A backend
// author reads this file whole.

import (
	"context"
	"time"

	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/store"
)

// Backend is what the engine needs of a platform.
type Backend interface {
	// Name is the platform's name, journaled with every operation.
	Name() string
	// Capture validates the request and records, without changing
	// anything, everything the rollback must give back: LUs with every
	// property and view, zones and their states, newer snapshots. Errors
	// wrap ErrInvalid, ErrNotFound or ErrPrecondition.
	Capture(ctx context.Context, run execx.RunFunc, snapshot string, opts store.Options) (store.Identity, []string, error)
	// Steps builds the saga from the journaled operation alone, so that
	// recovery after a crash builds the same steps (argv included: they
	// follow op.Capabilities, not what the host says today). They are the
	// backend's own steps: the engine puts its capture step before them.
	Steps(op *store.Operation) []Step
	// Probe asks the host's commands what they support
	// (docs/platform/README.md §4) and keeps the answer for Capture and the
	// inventory. The engine calls it once, at start or before the first
	// call that needs it, and again only after it failed.
	Probe(ctx context.Context, run execx.RunFunc) (store.Capabilities, error)
	// Inventory reads and manages volumes and snapshots.
	Inventory
}

// Inventory is the read side and snapshot management.
type Inventory interface {
	ListVolumes(ctx context.Context, run execx.RunFunc) ([]Volume, error)
	GetVolume(ctx context.Context, run execx.RunFunc, name string) (Volume, error)
	Snapshots(ctx context.Context, run execx.RunFunc, vol string) ([]Snapshot, error)
	// CreateSnapshots and DestroySnapshot run the platform command; the
	// engine checks before that the snapshot does (not) exist, and reads it
	// back after.
	// CreateSnapshots takes every snapshot in names (VOL@SNAP, distinct
	// volumes) with one atomic command, or refuses (ErrInvalid). A backend
	// that implements SnapshotTaker is called through that instead.
	CreateSnapshots(ctx context.Context, run execx.RunFunc, names []string) error
	DestroySnapshot(ctx context.Context, run execx.RunFunc, name string) error
	// VolumeOf returns the volume a snapshot or volume name belongs to, after
	// validating the name (ErrInvalid).
	VolumeOf(name string) (string, error)
}

// Volume is a volume and everything that uses it.
type Volume struct {
	Name      string
	Type      string
	Volsize   uint64
	LUs       []store.LU
	Snapshots []Snapshot
	Zones     []store.Zone
}

// Snapshot is one snapshot.
type Snapshot struct {
	Name       string
	Creation   time.Time
	Used       uint64
	Referenced uint64
}

// SnapshotTaker is a backend that decides how a group's snapshots are
// taken as one moment (docs/platform/zfs-snapshot.md) and says how. The
// engine calls it instead of Inventory.CreateSnapshots where it is
// implemented. It takes every snapshot or leaves none of those it created.
type SnapshotTaker interface {
	TakeSnapshots(ctx context.Context, run execx.RunFunc, names []string) (Taken, error)
}

// Taken says how a request's snapshots were taken.
type Taken struct {
	// Method is how, for people: the command and why it is one moment.
	Method string
	// Also are snapshots the method took besides those asked for (zfs
	// snapshot -r PARENT@S takes PARENT@S too).
	Also []string
}
