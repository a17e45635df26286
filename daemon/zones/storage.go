package zones

import (
	"strings"

	"github.com/volctl/volctl/daemon/kz"
)

// Names reports whether a zone's storage reference names one of the LUs
// (docs/platform/zone-storage.md): by the LU's GUID (luname.naa.GUID in an
// iscsi or lu URI, or a disk path carrying it), or by a target and LUN the
// LU has there (iscsi target.IQN,lun.N). Both the storage host (its own
// zones, and again the zones its peers report) and a zone host (its zones,
// against the storage host's question) decide with this one function.
//
// A target and LUN name every LU with a view of that LUN through that
// target, whichever host group the view admits: a zone is counted as a
// consumer of each (the LU it really reaches depends on its host's
// initiator, and counting one too many stops a zone, never rolls a disk
// back under one).
func Names(r kz.Ref, lus []LURef) bool {
	target, lun, isTarget := r.TargetLUN()
	for _, l := range lus {
		if l.GUID != "" && r.NamesGUID(l.GUID) {
			return true
		}
		if !isTarget {
			continue
		}
		for _, p := range l.Paths {
			if p.LUN == lun && strings.EqualFold(p.Target, target) {
				return true
			}
		}
	}
	return false
}
