package store

import "strings"

// Targets are every volume of the operation and the snapshot each goes
// back to, in the same order: Volume and Snapshot first, then the other
// volumes of a group (Options.Group). Every place that names what an
// operation rolls back names all of them (history, op show, the filter of
// a list by volume).
func (op *Operation) Targets() (volumes, snapshots []string) {
	if len(op.Options.Group) < 2 {
		return []string{op.Volume}, []string{op.Snapshot}
	}
	for _, s := range op.Options.Group {
		v, _, _ := strings.Cut(s, "@")
		volumes, snapshots = append(volumes, v), append(snapshots, s)
	}
	return volumes, snapshots
}

// OnVolume reports whether volume is one of the operation's volumes.
func (op *Operation) OnVolume(volume string) bool {
	vols, _ := op.Targets()
	for _, v := range vols {
		if v == volume {
			return true
		}
	}
	return false
}
