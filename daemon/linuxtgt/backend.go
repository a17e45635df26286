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

// zfs is the zfs command. NoListP always: this backend reads every listing
// through zfs get -H -p, on OpenZFS too, since it needs the mountpoints,
// createtxg and user holds that only Infos reads (and zfs-fuse has no
// list -p), so a Snapshots listing is a zfs get as well.
func (b *Backend) zfs(run execx.RunFunc) zfs.Cmd {
	return zfs.Cmd{Path: b.Paths.Zfs, Run: run, NoListP: true}
}
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
