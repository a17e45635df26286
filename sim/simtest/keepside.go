package simtest

import (
	"fmt"
	"slices"
	"strings"

	"github.com/volctl/volctl/sim"
)

// KeptWant is a kept dataset of pool/idisk0 as it must be: its name, its
// data, its origin and its snapshots' short names, oldest first.
type KeptWant struct {
	Name, Data, Origin string
	Snaps              []string
}

// KeepSide is where the seed's pool/idisk0 must be around a keep
// rollback or an undo: its data (DataAtSnap or DataAfterSnap), its
// snapshots' short names, and its kept datasets.
type KeepSide struct {
	Data  string
	Snaps []string
	Kept  []KeptWant
}

// Outcome is the side's: AtSnapshot when the volume holds the data at
// snap1.
func (s KeepSide) Outcome() Outcome {
	if s.Data == DataAtSnap {
		return AtSnapshot
	}
	return Untouched
}

// KeepSides are the host before and after a keep rollback of
// pool/idisk0 to snap1 (with snap2 newer) or its undo (undo true):
// keptBy is the dataset the keep rollback kept (the one an undo brings
// back), own the operation's own kept dataset.
func KeepSides(undo bool, keptBy, own string) (before, after KeepSide) {
	kept1 := KeptWant{keptBy, DataAfterSnap, "pool/idisk0@snap1", []string{"snap2"}}
	if undo {
		return KeepSide{DataAtSnap, []string{"snap1"}, []KeptWant{kept1}},
			KeepSide{DataAfterSnap, []string{"snap1", "snap2"}, []KeptWant{{own, DataAtSnap, "pool/idisk0@snap1", nil}}}
	}
	return KeepSide{DataAfterSnap, []string{"snap1", "snap2"}, nil},
		KeepSide{DataAtSnap, []string{"snap1"}, []KeptWant{{own, DataAfterSnap, "pool/idisk0@snap1", []string{"snap2"}}}}
}

// CheckKeepSide is CheckZone for a keep side, with nothing lost on top:
// pool/idisk0 with the side's data and snapshots, not a clone, and
// exactly the side's kept datasets, each with its data, origin and
// snapshots. zoneState "" checks no zone.
func CheckKeepSide(root string, side KeepSide, zoneState string) []string {
	bad := CheckZone(root, side.Outcome(), zoneState)
	st, err := sim.Load(root)
	if err != nil {
		return append(bad, err.Error())
	}
	vol := st.Zvol("pool/idisk0")
	if vol == nil {
		return append(bad, "pool/idisk0 is gone")
	}
	if got := snapNames(vol); !slices.Equal(got, side.Snaps) {
		bad = append(bad, fmt.Sprintf("pool/idisk0 has snapshots %v, want %v", got, side.Snaps))
	}
	if vol.Origin != "" {
		bad = append(bad, "pool/idisk0 is a clone of "+vol.Origin)
	}
	var names, want []string
	for _, d := range st.Datasets {
		if strings.HasPrefix(d.Name, KeptPrefix) {
			names = append(names, d.Name)
		}
	}
	for _, k := range side.Kept {
		want = append(want, k.Name)
		d := st.Zvol(k.Name)
		if d == nil {
			bad = append(bad, k.Name+" is gone")
			continue
		}
		if string(d.Data) != k.Data {
			bad = append(bad, fmt.Sprintf("%s holds %q, want %q", k.Name, d.Data, k.Data))
		}
		if d.Origin != k.Origin {
			bad = append(bad, fmt.Sprintf("%s's origin is %q, want %q", k.Name, d.Origin, k.Origin))
		}
		if got := snapNames(d); !slices.Equal(got, k.Snaps) {
			bad = append(bad, fmt.Sprintf("%s has snapshots %v, want %v", k.Name, got, k.Snaps))
		}
	}
	slices.Sort(names)
	slices.Sort(want)
	if !slices.Equal(names, want) {
		bad = append(bad, fmt.Sprintf("kept datasets %v, want %v", names, want))
	}
	return bad
}

// CheckKeepRestart is CheckRestart for a keep side.
func CheckKeepRestart(root string, side KeepSide, zoneState string) []string {
	return CheckRestart(root, side.Outcome(), zoneState)
}

func snapNames(d *sim.Dataset) []string {
	var out []string
	for _, s := range d.Snapshots {
		out = append(out, s.Name)
	}
	return out
}
