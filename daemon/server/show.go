package server

import (
	"github.com/volctl/volctl/daemon/engine"
	v1 "github.com/volctl/volctl/proto/volctl/v1"
)

// showVolume adds to p what ls and show say besides the identity: the LUs
// that cannot be read whole, and who is logged in that can see the LUs
// (GetVolume only). Sessions that could not be read say why, never none.
func showVolume(v engine.Volume, p *v1.Volume) {
	for _, lu := range p.LogicalUnits {
		lu.Unreadable = v.Unreadable[lu.GetGuid()]
	}
	for _, u := range v.Unplaced {
		p.UnplacedLogicalUnits = append(p.UnplacedLogicalUnits, &v1.LogicalUnit{Guid: u.GUID, Registered: true, Unreadable: u.What})
	}
	if v.Sessions == nil {
		return
	}
	if v.Sessions.Err != nil {
		p.Sessions = &v1.Sessions{Error: v.Sessions.Err.Error()}
		return
	}
	p.Sessions = &v1.Sessions{Read: true}
	for _, s := range v.Sessions.List {
		ps := &v1.Session{Guid: s.GUID, Initiator: s.Initiator, Alias: s.Alias, Target: s.Target, Lun: int32(s.LUN), LoggedInSince: s.Since}
		if s.View != nil {
			e := int32(*s.View)
			ps.ViewEntry = &e
		}
		p.Sessions.Sessions = append(p.Sessions.Sessions, ps)
	}
}
