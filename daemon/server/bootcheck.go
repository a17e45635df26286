package server

import (
	"context"
	"fmt"

	"github.com/volctl/volctl/daemon/bootcheck"
	v1 "github.com/volctl/volctl/proto/volctl/v1"
)

// CheckBoot implements BootService: the engine reads the zone's boot disk
// labels (read-only); a disk that gives no answer is an error, never a
// verdict.
func (s *Server) CheckBoot(ctx context.Context, req *v1.CheckBootRequest) (*v1.CheckBootResponse, error) {
	rep, err := s.eng.CheckBoot(ctx, req.GetZone())
	if err != nil {
		return nil, toStatus(err)
	}
	return validText(toCheckBoot(rep)), nil
}

func toCheckBoot(r bootcheck.Report) *v1.CheckBootResponse {
	resp := &v1.CheckBootResponse{Zone: r.Zone, Host: r.Host, ZoneState: r.State, Boots: r.Boots(),
		Verdict: r.Verdict(), Advice: r.Advice()}
	for _, d := range r.Disks {
		res := d.Result
		bd := &v1.BootDisk{DeviceId: int32(d.Device.ID), Storage: d.Device.Storage, Bootpri: int32(d.Device.BootPri),
			Volume: d.Volume, DevicePath: d.Path, PartitionTable: res.Scheme, Slice: res.Slice, Pool: res.Pool,
			PoolGuid: res.PoolGUID, Txg: res.TXG, PoolState: res.State, Hostname: res.Hostname, Path: res.Path,
			PhysPath: res.PhysPath, Devid: res.DevID, WantPhysPath: res.Want, Boots: res.Boots,
			ValidLabels: int32(res.ValidLabels), AgreeingLabels: int32(res.AgreeLabels)}
		if res.HasHostID {
			bd.Hostid = fmt.Sprintf("%08x", res.HostID)
		}
		resp.Disks = append(resp.Disks, bd)
	}
	return resp
}
