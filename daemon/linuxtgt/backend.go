// Package linuxtgt is the Linux backend: ZFS (OpenZFS, or zfs-fuse 0.7)
// exported over iSCSI by tgt (tgtd, tgtadm). A volume is a zvol
// (/dev/zvol/POOL/VOL, OpenZFS) or a filesystem dataset whose files back
// LUs (zfs-fuse has no zvols); the rollback target is that dataset's
// snapshot. It captures every LU on the volume with its identity and its
// target's initiator bindings, and builds the rollback saga from the zfs
// and tgt adapters.
//
// The saga, and why each step is where it is (spec linux-tgt-zfs.md §10):
//
//	unbind-initiators  remove every ACL rule of the LUs' targets (and, with
//	                   consent, drop their connections), so that no initiator
//	                   can log in and see an LU without its identity: tgtd
//	                   creates LUs with a default identity (§3.1, §3.3)
//	delete-lu          delete the LUs: tgtd closes the backing files, so the
//	                   rollback does not change data under an open LU (§8.9)
//	rollback           zfs rollback (the point of no return)
//	create-lu          re-create each LU with the same tid, LUN and backing store
//	restore-identity   --op update --params scsi_id,scsi_sn,... and read back
//	rebind-initiators  only now give the ACL back
//	verify             identity, bindings, and "no change since the snapshot"
//
// Before the rollback a failure compensates backwards (re-create, restore,
// rebind); after it the engine rolls forward.
package linuxtgt

import (
	"context"
	"fmt"
	"sync"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/daemon/tgt"
	"github.com/volctl/volctl/daemon/zfs"
	"github.com/volctl/volctl/store"
)

// Paths are the absolute paths of the platform commands, and how to reach
// tgtd.
type Paths struct {
	Zfs, Tgtadm string
	// TgtControlPort is tgtd's management port (tgtd -C N); empty for the
	// default tgtd.
	TgtControlPort string
}

// DefaultPaths are where Debian's zfs-fuse / zfsutils-linux and tgt
// packages install them.
var DefaultPaths = Paths{Zfs: "/usr/sbin/zfs", Tgtadm: "/usr/sbin/tgtadm"}

// Backend is the Linux tgt + ZFS backend.
type Backend struct {
	Paths Paths

	mu   sync.Mutex
	feat *zfs.Features // what the installed zfs supports, once probed
}

// New returns a backend using the given command paths.
func New(p Paths) *Backend { return &Backend{Paths: p} }

// Name implements engine.Backend.
func (b *Backend) Name() string { return "linux-tgt" }

func (b *Backend) zfs(run execx.RunFunc) zfs.Cmd { return zfs.Cmd{Path: b.Paths.Zfs, Run: run} }
func (b *Backend) tgt(run execx.RunFunc) tgt.Cmd {
	return tgt.Cmd{Path: b.Paths.Tgtadm, Control: b.Paths.TgtControlPort, Run: run}
}

// Probe implements engine.Backend: what the installed zfs supports
// (zfs-fuse: no list -p, no written@), with the same probes as the Solaris
// backend's zfs part.
func (b *Backend) Probe(ctx context.Context, run execx.RunFunc) (store.Capabilities, error) {
	f, err := b.zfs(run).Probe(ctx)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	b.feat = &f
	b.mu.Unlock()
	return f.Capabilities(), nil
}

// features is what Probe found; the engine probes before any capture or
// step runs.
func (b *Backend) features() (zfs.Features, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.feat == nil {
		return zfs.Features{}, fmt.Errorf("the host's zfs was not probed yet: %w", engine.ErrUnavailable)
	}
	return *b.feat, nil
}
