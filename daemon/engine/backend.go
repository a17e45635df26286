package engine

// The backend contract: what the engine needs of a platform. A backend
// author reads this file whole, and runs the contract's test suite
// (daemon/engine/backendtest) against the backend's hosts.

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
	// Unreadable holds, by GUID, what the platform printed instead of the
	// properties of an LU in LUs it could not read whole (a rollback of
	// the volume refuses it).
	Unreadable map[string]string
	// Unplaced are registered LUs whose data file could not be read: any
	// of them may be on this volume.
	Unplaced []UnreadableLU
	// Sessions are the initiators logged in that can see the LUs; nil
	// when not read (GetVolume reads them, ListVolumes does not).
	Sessions *Sessions
}

// UnreadableLU is an LU the platform would not show whole, and what it
// printed instead.
type UnreadableLU struct {
	GUID string
	What string
}

// Sessions is who is logged in that can see a volume's LUs, or why that
// could not be read (Err set, List empty): never "none" for "unknown".
type Sessions struct {
	Err  error
	List []Session
}

// Session is one initiator logged in to Target that can see the LU GUID
// there as LUN (through view entry View, where the platform has views).
type Session struct {
	GUID, Initiator, Alias, Target string
	View                           *int
	LUN                            int
	Since                          string
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
