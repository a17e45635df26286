package solaris

import (
	"context"
	"fmt"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/store"
)

// A rescue --shell (docs/rescue.md §5): after the import the rescue
// stops, waiting for the admin (engine.Step.Await), with the pool
// imported in the rescue zone under its altroot; volctl rescue --finish
// OP goes on with the export (the commit), the halt, the device's removal
// and the label check; --abandon undoes what ran instead.
//
// The import is the plain rescue's, -N included: the root file system of
// a boot environment has canmount=noauto, so an import without -N would
// not mount it either, while it would mount the pool's other file
// systems (and fail half-way on one it cannot mount, the pool imported).
// So the pool is imported with nothing mounted, and the admin mounts what
// they need under the altroot (zfs mount TEMP/ROOT/BE). The facts are in
// docs/platform/kz-rescue-shell.md.

// shellWanted reports whether the journaled rescue stops for the admin.
func shellWanted(op *store.Operation) bool {
	return op.Options.Rescue != nil && op.Options.Rescue.Shell
}

// shell is the step at which a rescue --shell waits: its Do reads that the
// pool is imported in the rescue zone (a resume after a crash runs it
// again), then the operation waits with the admin's instructions.
func (s *rescueSteps) shell() engine.Step {
	r := s.r
	return engine.Step{Name: "shell",
		Description: fmt.Sprintf("wait for the admin: %s's root pool stays imported in %s as %s under %s until volctl rescue --finish (or --abandon)",
			r.Zone, r.With, r.TempName, r.Altroot),
		Planned: s.planImported(),
		Do: func(ctx context.Context, x *engine.Exec) error {
			in, err := s.imported(ctx, x.Run)
			if err != nil {
				return err
			}
			if !in {
				return fmt.Errorf("%s is not imported in zone %s after the import step: not handing it to the admin", r.TempName, r.With)
			}
			return nil
		},
		Await: func(op *store.Operation) string { return shellText(r, op.ID) },
	}
}

// shellText is what the admin is told to do while the rescue waits.
func shellText(r store.Rescue, id uint64) string {
	where := ""
	if r.Host != "" {
		where = " on zone host " + r.Host
	}
	return fmt.Sprintf("%s's root pool is imported in zone %s%s as %s under %s, nothing mounted. "+
		"To change its files: zlogin %s%s, then zfs mount %s/ROOT/BE (zfs list -r -o name,canmount,mountpoint %s names the boot environments; it mounts under %s). "+
		"Leave the pool imported and leave %s (cd /; zfs unmount what you mounted), then run volctl rescue --finish %d: it exports %s (which writes the path %s boots from), shuts %s down, removes the disk and checks the label. "+
		"To stop without that: volctl rescue --abandon %d (the pool exported, %s shut down, the disk removed; your changes stay, the label is not checked)",
		r.Zone, r.With, where, r.TempName, r.Altroot,
		r.With, where, r.TempName, r.TempName, r.Altroot,
		r.Altroot, id, r.TempName, r.Zone, r.With,
		id, r.With)
}
