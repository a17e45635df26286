package simtest

import (
	"fmt"
	"strings"

	"github.com/volctl/volctl/sim"
)

// KeptPrefix is how the kept datasets of pool/idisk0 begin
// (docs/keep.md §2: V.kept-N-YYYYMMDDThhmmssZ).
const KeptPrefix = "pool/idisk0.kept-"

// CheckKept is Check for a rollback that keeps what it replaces, with the
// one rule on top that nothing is lost: Untouched means no kept dataset of
// pool/idisk0 is left (the set-aside was undone); AtSnapshot means exactly
// one, holding the data (and kz1's host data) the volume had, a clone of
// pool/idisk0@snap1, with pool/idisk0 promoted (no origin).
func CheckKept(root string, want Outcome) []string {
	bad := Check(root, want)
	st, err := sim.Load(root)
	if err != nil {
		return append(bad, err.Error())
	}
	var kept []*sim.Dataset
	for _, d := range st.Datasets {
		if strings.HasPrefix(d.Name, KeptPrefix) {
			kept = append(kept, d)
		}
	}
	vol := st.Zvol("pool/idisk0")
	if want != AtSnapshot {
		for _, k := range kept {
			bad = append(bad, "kept dataset "+k.Name+" is left")
		}
		if vol != nil && vol.Origin != "" {
			bad = append(bad, "pool/idisk0 is a clone of "+vol.Origin)
		}
		return bad
	}
	if len(kept) != 1 {
		var names []string
		for _, k := range kept {
			names = append(names, k.Name)
		}
		return append(bad, fmt.Sprintf("kept datasets %v, want one", names))
	}
	k := kept[0]
	if string(k.Data) != DataAfterSnap {
		bad = append(bad, fmt.Sprintf("kept data %q, want %q", k.Data, DataAfterSnap))
	}
	if k.Origin != "pool/idisk0@snap1" {
		bad = append(bad, fmt.Sprintf("kept dataset's origin %q, want pool/idisk0@snap1", k.Origin))
	}
	if vol != nil && vol.Origin != "" {
		bad = append(bad, "pool/idisk0 is still a clone of "+vol.Origin+" (not promoted)")
	}
	return bad
}
