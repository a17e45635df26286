package solaris

import (
	"context"
	"sync"
	"time"

	"github.com/volctl/volctl/daemon/comstar"
	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/daemon/kz"
	"github.com/volctl/volctl/daemon/zfs"
	"github.com/volctl/volctl/daemon/zones"
	"github.com/volctl/volctl/store"
)

// Paths are the absolute paths of the platform commands.
type Paths struct {
	Zfs, Zpool, Stmfadm, Zoneadm, Zonecfg string
	// Hostid is hostid(1), optional: the zone service reports the global
	// zone's hostid with its zones.
	Hostid string
	// Zlogin is zlogin(1), optional: volctl rescue runs zpool inside the
	// rescue zone through it (rescue.go).
	Zlogin string
}

// DefaultPaths are where Solaris and illumos keep them.
var DefaultPaths = Paths{Zfs: "/usr/sbin/zfs", Zpool: "/usr/sbin/zpool", Stmfadm: "/usr/sbin/stmfadm",
	Zoneadm: "/usr/sbin/zoneadm", Zonecfg: "/usr/sbin/zonecfg"}

// Backend is the Solaris/illumos backend.
type Backend struct {
	Paths Paths
	// ShutdownTimeout bounds a zone's clean shutdown before it is halted;
	// 0 means DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
	// LUOnlineTimeout bounds the wait for an imported or created LU to be
	// in the operational state it was captured in; 0 means
	// DefaultLUOnlineTimeout.
	LUOnlineTimeout time.Duration
	// Peers are the zone hosts asked about zones on a volume; nil: none.
	Peers zones.Peers
	// Initiators are this host's own iSCSI initiator names: a session of
	// one is expected when this host's zones on the LU are detached.
	Initiators []string
	// Labels reads a kernel zone's boot disk label for the rescue
	// (rescue.go); nil: check-boot's reader (rescue_label.go).
	Labels LabelReader
	// ZvolDeviceDir is where a volume's raw device is (POOL/VOL under
	// it), read by check-boot; "" means /dev/zvol/rdsk.
	ZvolDeviceDir string

	mu   sync.Mutex
	caps store.Capabilities // from Probe; nil before
}

// DefaultShutdownTimeout is how long a kernel zone's guest gets to shut
// down (SMF shutdown in the guest typically takes 10 s to 2 min).
const DefaultShutdownTimeout = 3 * time.Minute

func (b *Backend) shutdownTimeout() time.Duration {
	if b.ShutdownTimeout > 0 {
		return b.ShutdownTimeout
	}
	return DefaultShutdownTimeout
}

// New returns a backend using the given command paths.
func New(p Paths) *Backend { return &Backend{Paths: p} }

// GroupRollbacks implements engine.Groups: the disks of a zone go back as
// one operation.
func (b *Backend) GroupRollbacks() bool { return true }

// Name implements engine.Backend.
func (b *Backend) Name() string { return "solaris" }

// capabilities are the probed ones (nil before Probe: then nothing
// optional is used).
func (b *Backend) capabilities() store.Capabilities {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.caps
}

// zfs is the zfs command as the host's capabilities allow it.
func (b *Backend) zfs(run execx.RunFunc) zfs.Cmd { return b.zfsWith(run, b.capabilities()) }

func (b *Backend) zfsWith(run execx.RunFunc, caps store.Capabilities) zfs.Cmd {
	return zfs.Cmd{Path: b.Paths.Zfs, Run: run, NoListP: !caps.Has(store.CapZfsListP)}
}

func (b *Backend) zpool(run execx.RunFunc) zfs.Pool { return zfs.Pool{Path: b.Paths.Zpool, Run: run} }
func (b *Backend) stmf(run execx.RunFunc) comstar.Cmd {
	return comstar.Cmd{Path: b.Paths.Stmfadm, Run: run}
}
func (b *Backend) kz(run execx.RunFunc) kz.Cmd {
	return kz.Cmd{Zoneadm: b.Paths.Zoneadm, Zonecfg: b.Paths.Zonecfg, Zlogin: b.Paths.Zlogin, Run: run}
}

// Probe implements engine.Backend: what this host's zfs, zoneadm and
// stmfadm accept (docs/platform/README.md §4). Each probe changes nothing.
func (b *Backend) Probe(ctx context.Context, run execx.RunFunc) (store.Capabilities, error) {
	f, err := b.zfsWith(run, nil).Probe(ctx)
	if err != nil {
		return nil, err
	}
	caps := f.Capabilities()
	listS, detail, err := b.kz(run).ProbeListS(ctx)
	if err != nil {
		return nil, err
	}
	caps = append(caps, store.Capability{Name: store.CapZoneadmListS, Supported: listS, Detail: detail})
	keep, detail, err := b.stmf(run).ProbeDeleteKeep(ctx)
	if err != nil {
		return nil, err
	}
	caps = append(caps, store.Capability{Name: store.CapDeleteLUKeep, Supported: keep, Detail: detail})
	b.mu.Lock()
	b.caps = caps
	b.mu.Unlock()
	return caps, nil
}
