package server

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/volctl/volctl/daemon/peerwire"
	"github.com/volctl/volctl/daemon/zonehost"
	"github.com/volctl/volctl/daemon/zones"
	v1 "github.com/volctl/volctl/proto/volctl/v1"
	"github.com/volctl/volctl/store"
)

// zoneServer is the zone service (role peer only; the guard admits and
// audits every call).
type zoneServer struct {
	v1.UnimplementedZoneServiceServer
	zh *zonehost.Service
}

// SetZoneHost serves the zone service from zh (nil: the service answers
// FailedPrecondition).
func (s *Server) SetZoneHost(zh *zonehost.Service) { s.zones.zh = zh }

func (z *zoneServer) host() (*zonehost.Service, error) {
	if z.zh == nil {
		return nil, status.Error(codes.FailedPrecondition, "this volctld serves no zones (platform linux-tgt)")
	}
	return z.zh, nil
}

// FindZones implements ZoneService.
func (z *zoneServer) FindZones(ctx context.Context, req *v1.FindZonesRequest) (*v1.FindZonesResponse, error) {
	zh, err := z.host()
	if err != nil {
		return nil, err
	}
	q := zones.Query{Zone: req.GetZone()}
	for _, l := range req.GetLogicalUnits() {
		r := zones.LURef{GUID: l.GetGuid()}
		for _, p := range l.GetPaths() {
			r.Paths = append(r.Paths, zones.TargetLUN{Target: p.GetTarget(), LUN: int(p.GetLun())})
		}
		q.LUs = append(q.LUs, r)
	}
	rep, err := zh.Find(ctx, q)
	if err != nil {
		return nil, toStatus(err)
	}
	resp := &v1.FindZonesResponse{Hostname: rep.Hostname, Hostid: rep.HostID, Initiators: rep.Initiators, AuxKnown: rep.AuxKnown,
		Zonecfg: rep.Zonecfg, Zlogin: rep.Zlogin}
	for _, zn := range rep.Zones {
		aux := zn.Aux
		if rep.AuxKnown && !zn.AuxListed && aux == "" {
			aux = peerwire.AuxNotListed
		}
		pz := &v1.Zone{Name: zn.Name, State: zn.State, Brand: zn.Brand, Storage: zn.Storage, Aux: aux}
		for _, d := range zn.Devices {
			pz.Devices = append(pz.Devices, &v1.ZoneDevice{Id: int32(d.ID), Storage: d.Storage, Bootpri: int32(d.BootPri)})
		}
		resp.Zones = append(resp.Zones, pz)
	}
	for _, c := range rep.Commands {
		resp.Commands = append(resp.Commands, toCommand(c))
	}
	return validText(resp), nil
}

// ZoneAction implements ZoneService.
func (z *zoneServer) ZoneAction(ctx context.Context, req *v1.ZoneActionRequest) (*v1.ZoneActionResponse, error) {
	zh, err := z.host()
	if err != nil {
		return nil, err
	}
	verb, ok := peerwire.FromVerb(req.GetVerb())
	if !ok {
		return nil, status.Errorf(codes.InvalidArgument, "zone action: verb %s is not one volctld knows", req.GetVerb())
	}
	id, _, _ := identityFrom(ctx)
	c, replayed, err := zh.Act(ctx, id.String(), req.GetKey(), req.GetZone(), verb, peerwire.FromRescue(req.GetRescue()))
	if err != nil {
		return nil, toStatus(err)
	}
	noteFrom(ctx).set(0, callResult(c, replayed), map[string]any{"key": c.Key, "zone": c.Zone, "verb": c.Verb, "state": c.State, "attempts": c.Attempts})
	resp := &v1.ZoneActionResponse{State: c.State, Error: c.Error, Permanent: c.Permanent, InUse: c.InUse, Replayed: replayed}
	for _, cmd := range c.Commands {
		resp.Commands = append(resp.Commands, toCommand(cmd))
	}
	return validText(resp), nil
}

func callResult(c *store.ZoneCall, replayed bool) string {
	switch {
	case replayed:
		return "replayed"
	case c.Done:
		return "done"
	}
	return "failed"
}
