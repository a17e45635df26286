// Package zones holds what hosts tell each other about their zones: the
// storage host's question (which zones use these LUs?), a zone host's
// answer, and the actions the storage host asks of it. The storage host's
// backend (daemon/solaris) asks through a Peers (daemon/peers implements it
// over gRPC); a zone host answers with daemon/zonehost. Nothing here runs a
// command.
package zones

import (
	"context"
	"fmt"
	"time"

	"github.com/volctl/volctl/store"
)

// TargetLUN is a target IQN and the LUN an LU has there: how an
// iscsi://host/target.IQN,lun.N storage URI names it.
type TargetLUN struct {
	Target string
	LUN    int
}

// LURef names an LU both ways a storage URI may: its GUID, and every target
// and LUN it is exposed through.
type LURef struct {
	GUID  string
	Paths []TargetLUN
}

// Query asks a host for its zones on any of LUs, or for the zone named
// Zone whatever its storage.
type Query struct {
	LUs  []LURef
	Zone string
}

// Zone is one zone as its host reports it.
type Zone struct {
	Name    string
	State   string
	Brand   string
	Aux     string
	Storage []string // the device storage URIs that name one of the LUs
	// AuxListed: zoneadm list -s showed the zone.
	AuxListed bool
	// Devices are all the zone's devices (its other disks too).
	Devices []Device
}

// Device is one of a zone's devices: its storage URI, id and boot
// priority (-1: none; several boot devices make a mirrored root pool).
type Device struct {
	ID      int
	Storage string
	BootPri int
}

// Report is one host's answer.
type Report struct {
	// Peer is the name the storage host's configuration gives the host.
	Peer string
	// Hostname and HostID are the host's global zone's.
	Hostname, HostID string
	// Initiators are the host's iSCSI initiator node names.
	Initiators []string
	// Zoneadm is the path of the host's zoneadm (for the plan's argv).
	Zoneadm  string
	Zones    []Zone
	AuxKnown bool
	// Zonecfg and Zlogin are the host's paths of those ("" Zlogin: none
	// configured, so no rescue runs there).
	Zonecfg, Zlogin string
	// Commands are what the host ran to answer.
	Commands []store.Command
	// Err: the host did not answer (or refused).
	Err error
}

// Verb is what a zone action does.
type Verb string

// The zone actions (ZoneService.ZoneAction).
const (
	Detach         Verb = "detach"
	Attach         Verb = "attach"
	AttachInit     Verb = "attach-initialize-hostdata"
	AttachTakeover Verb = "attach-force-takeover"
	Boot           Verb = "boot"
	Shutdown       Verb = "shutdown"
)

// The rescue's actions on a zone host (docs/rescue.md §4): the zone they
// act on is the rescue zone; Rescue says the rest. They are not zoneadm
// verbs: Args and Wanted have nothing for them.
const (
	RescueAddDevice    Verb = "rescue-add-device"
	RescueRemoveDevice Verb = "rescue-remove-device"
	RescueImport       Verb = "rescue-import"
	RescueExport       Verb = "rescue-export"
)

// Verbs are every verb, for validation.
var Verbs = []Verb{Detach, Attach, AttachInit, AttachTakeover, Boot, Shutdown,
	RescueAddDevice, RescueRemoveDevice, RescueImport, RescueExport}

// IsRescue reports a rescue verb (one that takes a Rescue).
func (v Verb) IsRescue() bool {
	switch v {
	case RescueAddDevice, RescueRemoveDevice, RescueImport, RescueExport:
		return true
	}
	return false
}

// Rescue is what a rescue verb needs besides the rescue zone: the zone
// whose boot disk is repaired, that disk's storage URI and the id it gets
// in the rescue zone, the root pool (name, GUID: 0 imports by name), the
// temporary name it is imported under and where (store.Rescue's fields).
type Rescue struct {
	Zone     string
	Storage  string
	DeviceID int
	Pool     string
	PoolGUID uint64
	TempName string
	Altroot  string
}

// String is the arguments as one line, as a zone host journals them with
// the call's key (a key reused with other arguments is refused).
func (r Rescue) String() string {
	return fmt.Sprintf("zone=%s storage=%s id=%d pool=%s guid=%d temp=%s altroot=%s",
		r.Zone, r.Storage, r.DeviceID, r.Pool, r.PoolGUID, r.TempName, r.Altroot)
}

// Args is the zoneadm subcommand a verb runs (shutdown falls back to halt
// on the zone host).
func (v Verb) Args() []string {
	switch v {
	case AttachInit:
		return []string{"attach", "-x", "initialize-hostdata"}
	case AttachTakeover:
		return []string{"attach", "-x", "force-takeover"}
	}
	return []string{string(v)}
}

// Wanted is the state the verb leads to; the others that also count as
// done (an attach that finds the zone running has nothing to do) follow.
func (v Verb) Wanted() (from string, want []string) {
	switch v {
	case Detach:
		return "installed", []string{"configured"}
	case Attach, AttachInit, AttachTakeover:
		return "configured", []string{"installed", "running"}
	case Boot:
		return "installed", []string{"running"}
	case Shutdown:
		// configured counts as done too: a resumed operation finds the
		// zone further along (detached) than the journal says.
		return "running", []string{"installed", "configured"}
	}
	return "", nil
}

// Valid reports an unknown verb.
func (v Verb) Valid() error {
	for _, k := range Verbs {
		if v == k {
			return nil
		}
	}
	return fmt.Errorf("unknown zone action %q", string(v))
}

// Result is a zone action's outcome as the zone host journaled it.
type Result struct {
	State    string
	Commands []store.Command
	// Err is set when the zone did not reach the wanted state.
	Err       string
	Permanent bool
	InUse     bool
	Replayed  bool
}

// Peers are the zone hosts a storage host asks. Find asks every one
// concurrently, each within its deadline, and returns one report per peer
// in configuration order; Act runs one action on one peer, waiting for its
// answer at most limit (what the action's zoneadm commands may take) plus
// the peer's call timeout (the network's margin).
type Peers interface {
	Names() []string
	Find(ctx context.Context, q Query) []Report
	Act(ctx context.Context, peer, key, zone string, verb Verb, limit time.Duration) (Result, error)
	// ActRescue is Act for a rescue verb on the rescue zone with.
	ActRescue(ctx context.Context, peer, key, with string, verb Verb, r Rescue, limit time.Duration) (Result, error)
}
