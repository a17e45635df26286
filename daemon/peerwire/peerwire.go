// Package peerwire is the peer link's wire contract as both of its ends
// convert it: the storage host's client (daemon/peers) and the zone host's
// zone service (daemon/server, zones.go). It holds the zone verbs' API
// form, the command record's (which every reply of the server uses too)
// and what a zone host sends for an aux it could not list. The names the
// CLI also reads (error domain, reasons, consents) are in internal/wire:
// this package needs daemon types, which the CLI must not link.
package peerwire

import (
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/volctl/volctl/daemon/zones"
	v1 "github.com/volctl/volctl/proto/volctl/v1"
	"github.com/volctl/volctl/store"
)

// verbs is every zone verb and its API form.
var verbs = map[zones.Verb]v1.ZoneVerb{
	zones.Detach:         v1.ZoneVerb_ZONE_VERB_DETACH,
	zones.Attach:         v1.ZoneVerb_ZONE_VERB_ATTACH,
	zones.AttachInit:     v1.ZoneVerb_ZONE_VERB_ATTACH_INITIALIZE_HOSTDATA,
	zones.AttachTakeover: v1.ZoneVerb_ZONE_VERB_ATTACH_FORCE_TAKEOVER,
	zones.Boot:           v1.ZoneVerb_ZONE_VERB_BOOT,
	zones.Shutdown:       v1.ZoneVerb_ZONE_VERB_SHUTDOWN,

	zones.RescueAddDevice:    v1.ZoneVerb_ZONE_VERB_RESCUE_ADD_DEVICE,
	zones.RescueRemoveDevice: v1.ZoneVerb_ZONE_VERB_RESCUE_REMOVE_DEVICE,
	zones.RescueImport:       v1.ZoneVerb_ZONE_VERB_RESCUE_IMPORT,
	zones.RescueExport:       v1.ZoneVerb_ZONE_VERB_RESCUE_EXPORT,
}

// ToRescue is a rescue verb's arguments in the API (nil for nil).
func ToRescue(r *zones.Rescue) *v1.ZoneRescue {
	if r == nil {
		return nil
	}
	return &v1.ZoneRescue{Zone: r.Zone, Storage: r.Storage, DeviceId: int32(r.DeviceID), Pool: r.Pool, PoolGuid: r.PoolGUID,
		TempName: r.TempName, Altroot: r.Altroot}
}

// FromRescue is the API's rescue arguments (nil for nil).
func FromRescue(r *v1.ZoneRescue) *zones.Rescue {
	if r == nil {
		return nil
	}
	return &zones.Rescue{Zone: r.GetZone(), Storage: r.GetStorage(), DeviceID: int(r.GetDeviceId()), Pool: r.GetPool(),
		PoolGUID: r.GetPoolGuid(), TempName: r.GetTempName(), Altroot: r.GetAltroot()}
}

// ToVerb is the API's form of a zone verb (the storage host's side);
// ZONE_VERB_UNSPECIFIED for one it does not know, which the zone host
// refuses.
func ToVerb(v zones.Verb) v1.ZoneVerb { return verbs[v] }

// FromVerb maps the API's verb to the zone action (the zone host's side);
// false for one volctld does not know.
func FromVerb(v v1.ZoneVerb) (zones.Verb, bool) {
	for k, x := range verbs {
		if x == v {
			return k, true
		}
	}
	return "", false
}

// AuxNotListed is what a zone host sends as the aux of a kernel zone that
// zoneadm list -s did not show (FindZonesResponse.aux_known set).
const AuxNotListed = "unknown"

// Command is a command record as the API carries it, whole: a reply that
// must stay small caps the output itself.
func Command(c store.Command) *v1.CommandRun {
	return &v1.CommandRun{Argv: c.Argv, ExitCode: int32(c.Exit), Stdout: c.Stdout, Stderr: c.Stderr,
		Started: timestamp(c.Started), Duration: durationpb.New(c.Duration), Error: c.Err, Host: c.Host}
}

// Commands are the command records a peer's answer carries, as the
// storage host journals them: Host is the peer that ran them, whatever
// the answer says. A record without a start time reads as the Unix epoch
// (a zone host always sends one).
func Commands(host string, cs []*v1.CommandRun) []store.Command {
	var out []store.Command
	for _, c := range cs {
		out = append(out, store.Command{Argv: c.GetArgv(), Exit: int(c.GetExitCode()), Stdout: c.GetStdout(), Stderr: c.GetStderr(),
			Started: c.GetStarted().AsTime(), Duration: c.GetDuration().AsDuration(), Err: c.GetError(), Host: host})
	}
	return out
}

// timestamp is t in the API, nil for the zero time.
func timestamp(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}
