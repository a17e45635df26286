package solaris

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/daemon/kz"
	"github.com/volctl/volctl/daemon/zones"
	"github.com/volctl/volctl/store"
)

// A rescue's steps (docs/rescue.md §2), built from the journaled
// identity alone. Each Do reads first and converges (a resume after a
// crash finds its work done and goes on); each Undo touches only what the
// rescue put there.
//
//	step           Do                                          Undo
//	check          both zones' states as captured              -
//	add-device     zonecfg -z W 'add device; set storage=URI;  zonecfg -z W 'remove device id=0'
//	               set id=0; end'                              (only when id 0 is URI)
//	boot-rescue    zoneadm -z W boot                           shut W down (halt if it hangs)
//	import         zlogin W zpool import -R /mnt/1 -N -f       zlogin W zpool export Z
//	               -t Z GUID|rpool                             (only when Z is imported)
//	export         zlogin W zpool export Z  [the commit]       -
//	halt-rescue    shut W down (halt if it hangs)              -
//	remove-device  zonecfg -z W 'remove device id=0'           -
//	check-label    read Z's boot disk label: phys_path         -
//	               /zvnex/zvblk@0:b
//
// The commit is the export: once the pool is exported the label carries
// the kernel zone's path, and what is left (the rescue zone halted, the
// device removed, the label read) goes forward.

func (b *Backend) rescueSteps(op *store.Operation) []engine.Step {
	r := op.Identity.Rescue
	if r == nil {
		return []engine.Step{{Name: "check", Description: "the journaled rescue has no capture",
			Do: func(context.Context, *engine.Exec) error {
				return engine.Permanent(fmt.Errorf("operation %d is a rescue without its capture in the journal: %w", op.ID, engine.ErrPrecondition))
			}}}
	}
	s := &rescueSteps{b: b, r: *r}
	steps := []engine.Step{s.check(), s.addDevice()}
	booted := r.WithState != "running"
	if booted {
		steps = append(steps, s.bootRescue())
	}
	steps = append(steps, s.importPool())
	if shellWanted(op) { // steps_rescue_shell.go
		steps = append(steps, s.shell())
	}
	steps = append(steps, s.exportPool())
	if booted {
		steps = append(steps, s.haltRescue())
	}
	steps = append(steps, s.removeDevice(), s.checkLabel())
	if r.Host != "" {
		steps = s.onPeer(steps) // rescue_peer.go
	}
	return steps
}

type rescueSteps struct {
	b *Backend
	r store.Rescue
}

// k is the zone commands with the journaled names (paths from this
// volctld's configuration).
func (s *rescueSteps) k(x *engine.Exec) kz.Cmd {
	if x == nil {
		return s.b.kz(nil)
	}
	return s.b.kz(x.Run)
}

// must is an argv builder's result: the names were checked at capture, so
// an error here is a journal volctl cannot act on.
func must(argv []string, err error) []string {
	if err != nil {
		return []string{"(refused: " + err.Error() + ")"}
	}
	return argv
}

func argvErr(argv []string, err error) ([]string, error) {
	if err != nil {
		return nil, engine.Permanent(fmt.Errorf("%w: %w", err, engine.ErrPrecondition))
	}
	return argv, nil
}

// poolArg is what the import names the pool by: its GUID, read from the
// label, else its name.
func (s *rescueSteps) poolArg() string {
	if s.r.PoolGUID != 0 {
		return strconv.FormatUint(s.r.PoolGUID, 10)
	}
	return s.r.Pool
}

func (s *rescueSteps) check() engine.Step {
	k := s.k(nil)
	r := s.r
	return engine.Step{Name: "check",
		Description: fmt.Sprintf("check that %s is still %s and rescue zone %s still %s", r.Zone, "installed", r.With, r.WithState),
		Planned:     [][]string{k.StateArgv(r.Zone), k.StateArgv(r.With)},
		Do: func(ctx context.Context, x *engine.Exec) error {
			k := s.k(x)
			for _, z := range []struct{ name, want string }{{r.Zone, "installed"}, {r.With, r.WithState}} {
				st, err := k.State(ctx, z.name)
				if err != nil {
					return fmt.Errorf("read state of zone %s: %w", z.name, err)
				}
				// The steps before the commit are not journaled one by
				// one: a resume runs this check again after boot-rescue
				// may have booted the rescue zone (saga.go journalsStart).
				resumed := len(x.Op().Resumes) > 0 && z.name == r.With && st == "running"
				if st != z.want && !resumed {
					return engine.Permanent(fmt.Errorf("zone %s is %s now, %s at capture: nothing changed; plan the rescue again: %w", z.name, st, z.want, engine.ErrPrecondition))
				}
			}
			return nil
		}}
}

// local is a step function of what runs on this host: f with the step's
// runner. The same functions run on a zone host for a rescue there
// (rescue_peer.go).
func local(f func(context.Context, execx.RunFunc) error) func(context.Context, *engine.Exec) error {
	return func(ctx context.Context, x *engine.Exec) error { return f(ctx, x.Run) }
}

// device reads the rescue zone's device with the rescue's id: its storage,
// or "" when there is none.
func (s *rescueSteps) device(ctx context.Context, run execx.RunFunc) (string, error) {
	devs, err := s.b.kz(run).Devices(ctx, s.r.With)
	if err != nil {
		return "", fmt.Errorf("read the devices of zone %s: %w", s.r.With, err)
	}
	if len(devs) == 0 {
		// A kernel zone always has its boot device (readZones).
		return "", fmt.Errorf("zonecfg -z %s info showed no device for a kernel zone: refusing to trust its output", s.r.With)
	}
	for _, d := range devs {
		if d.Resource == "device" && d.ID == s.r.DeviceID {
			if d.Storage == "" {
				return "", engine.Permanent(fmt.Errorf("zone %s has a device id %d without storage", s.r.With, d.ID))
			}
			return d.Storage, nil
		}
	}
	return "", nil
}

// removeOurs removes the device with the rescue's id from the rescue zone
// when it is the zone's disk; one with other storage is not the rescue's
// and stays (a Permanent refusal that names it).
func (s *rescueSteps) removeOurs(ctx context.Context, run execx.RunFunc) error {
	st, err := s.device(ctx, run)
	switch {
	case err != nil:
		return err
	case st == "":
		return nil
	case st != s.r.Storage:
		return engine.Permanent(fmt.Errorf("zone %s's device id %d is %s, not %s: not the rescue's, left as it is", s.r.With, s.r.DeviceID, st, s.r.Storage))
	}
	argv, err := argvErr(s.b.kz(run).RemoveDeviceArgv(s.r.With, s.r.DeviceID))
	if err != nil {
		return err
	}
	if _, err := run(ctx, argv); err != nil {
		return fmt.Errorf("remove device id %d from zone %s: %w", s.r.DeviceID, s.r.With, err)
	}
	if st, err := s.device(ctx, run); err != nil || st != "" {
		return fmt.Errorf("zone %s still has device id %d (%s) after %v (%v)", s.r.With, s.r.DeviceID, st, argv[3:], err)
	}
	return nil
}

func (s *rescueSteps) addDevice() engine.Step {
	k := s.k(nil)
	r := s.r
	return engine.Step{Name: "add-device",
		Description: fmt.Sprintf("add %s's boot disk (%s) to rescue zone %s as device id %d, not a boot device", r.Zone, r.Storage, r.With, r.DeviceID),
		Planned:     [][]string{k.InfoArgv(r.With), must(k.AddDeviceArgv(r.With, r.Storage, r.DeviceID)), k.InfoArgv(r.With)},
		Do:          local(func(ctx context.Context, run execx.RunFunc) error { return s.add(ctx, run, nil) }),
		Undo:        local(s.removeOurs),
	}
}

// add adds the disk to the rescue zone unless it is there already; before
// it adds it, fit (when set) checks the zones again (a zone host's own
// check: rescue_peer.go).
func (s *rescueSteps) add(ctx context.Context, run execx.RunFunc, fit func() error) error {
	r := s.r
	st, err := s.device(ctx, run)
	switch {
	case err != nil:
		return err
	case st == r.Storage:
		return nil // a resume: added already
	case st != "":
		return engine.Permanent(fmt.Errorf("zone %s has device id %d already (%s): %w", r.With, r.DeviceID, st, engine.ErrPrecondition))
	}
	if fit != nil {
		if err := fit(); err != nil {
			return err
		}
	}
	argv, err := argvErr(s.b.kz(run).AddDeviceArgv(r.With, r.Storage, r.DeviceID))
	if err != nil {
		return err
	}
	if _, err := run(ctx, argv); err != nil {
		return fmt.Errorf("add %s to zone %s: %w", r.Storage, r.With, err)
	}
	if st, err := s.device(ctx, run); err != nil || st != r.Storage {
		return fmt.Errorf("zone %s's device id %d is %q after the add, not %s (%v)", r.With, r.DeviceID, st, r.Storage, err)
	}
	return nil
}

// planAct is what acting on the rescue zone runs (ZoneAct): its state,
// the verb, the state again (a shutdown that hangs is followed by a halt).
func (s *rescueSteps) planAct(verb zones.Verb) [][]string {
	k := s.k(nil)
	return [][]string{k.StateArgv(s.r.With), k.Argv(s.r.With, verb.Args()...), k.StateArgv(s.r.With)}
}

func (s *rescueSteps) act(verb zones.Verb) func(context.Context, *engine.Exec) error {
	return func(ctx context.Context, x *engine.Exec) error {
		_, err := s.b.ZoneAct(ctx, x.Run, s.r.With, verb, x.Note)
		return err
	}
}

func (s *rescueSteps) bootRescue() engine.Step {
	return engine.Step{Name: "boot-rescue",
		Description: fmt.Sprintf("boot rescue zone %s (it sees %s's disk as device id %d)", s.r.With, s.r.Zone, s.r.DeviceID),
		Planned:     s.planAct(zones.Boot),
		Do:          s.act(zones.Boot),
		Undo:        s.act(zones.Shutdown),
	}
}

func (s *rescueSteps) haltRescue() engine.Step {
	return engine.Step{Name: "halt-rescue",
		Description: fmt.Sprintf("shut rescue zone %s down again (halt it if that takes over %s)", s.r.With, s.b.shutdownTimeout()),
		Planned:     s.planAct(zones.Shutdown),
		Do:          s.act(zones.Shutdown),
	}
}

// imported reads whether the pool is imported, under its temporary name,
// in the rescue zone. A zone that is not running has nothing imported
// (its pools go with its kernel: docs/platform/kz-rescue.md §3), and
// zlogin refuses it.
func (s *rescueSteps) imported(ctx context.Context, run execx.RunFunc) (bool, error) {
	st, err := s.b.kz(run).State(ctx, s.r.With)
	if err != nil {
		return false, fmt.Errorf("read state of zone %s: %w", s.r.With, err)
	}
	if st != "running" {
		return false, nil
	}
	argv, err := argvErr(s.b.kz(run).ZpoolListArgv(s.r.With))
	if err != nil {
		return false, err
	}
	res, err := run(ctx, argv)
	if err != nil {
		return false, fmt.Errorf("list the pools in zone %s: %w", s.r.With, err)
	}
	names, err := kz.ParsePoolNames(res.Stdout)
	if err != nil {
		return false, engine.Permanent(fmt.Errorf("zone %s: %w", s.r.With, err))
	}
	// A running kernel zone has its own root pool imported: a list
	// without it is not the zone's whole answer.
	if !slices.ContainsFunc(names, func(n string) bool { return n != s.r.TempName }) {
		return false, fmt.Errorf("zpool list in zone %s showed %q, without the zone's own root pool: refusing to trust it", s.r.With, names)
	}
	return slices.Contains(names, s.r.TempName), nil
}

// planImported is what imported runs.
func (s *rescueSteps) planImported() [][]string {
	k := s.k(nil)
	return [][]string{k.StateArgv(s.r.With), must(k.ZpoolListArgv(s.r.With))}
}

func (s *rescueSteps) export(ctx context.Context, run execx.RunFunc) error {
	in, err := s.imported(ctx, run)
	if err != nil || !in {
		return err
	}
	argv, err := argvErr(s.b.kz(run).ZpoolExportArgv(s.r.With, s.r.TempName))
	if err != nil {
		return err
	}
	if _, err := run(ctx, argv); err != nil {
		return fmt.Errorf("export %s in zone %s: %w", s.r.TempName, s.r.With, err)
	}
	if in, err := s.imported(ctx, run); err != nil || in {
		return fmt.Errorf("%s is still imported in zone %s after %v (%v)", s.r.TempName, s.r.With, argv[2:], err)
	}
	return nil
}

func (s *rescueSteps) importPool() engine.Step {
	k := s.k(nil)
	r := s.r
	return engine.Step{Name: "import",
		Description: fmt.Sprintf("in %s, import %s's root pool (%s) as %s under %s, mounting nothing: zfs writes the path the disk has as device id %d",
			r.With, r.Zone, s.poolArg(), r.TempName, r.Altroot, r.DeviceID),
		Planned: slices.Concat(s.planImported(), [][]string{must(k.ZpoolImportArgv(r.With, r.Altroot, r.TempName, s.poolArg()))},
			s.planImported()),
		Do:   local(func(ctx context.Context, run execx.RunFunc) error { return s.importIt(ctx, run, nil) }),
		Undo: local(s.export),
	}
}

// importIt imports the pool in the rescue zone unless it is imported
// there already; before it imports it, fit (when set) checks the zones
// again (a zone host's own check: rescue_peer.go).
func (s *rescueSteps) importIt(ctx context.Context, run execx.RunFunc, fit func() error) error {
	r := s.r
	in, err := s.imported(ctx, run)
	if err != nil || in {
		return err // in: a resume, imported already
	}
	if fit != nil {
		if err := fit(); err != nil {
			return err
		}
	}
	argv, err := argvErr(s.b.kz(run).ZpoolImportArgv(r.With, r.Altroot, r.TempName, s.poolArg()))
	if err != nil {
		return err
	}
	if _, err := run(ctx, argv); err != nil {
		return fmt.Errorf("import %s's root pool in zone %s: %w", r.Zone, r.With, err)
	}
	if in, err := s.imported(ctx, run); err != nil || !in {
		return fmt.Errorf("%s is not imported in zone %s after %v (%v)", r.TempName, r.With, argv[2:], err)
	}
	return nil
}

func (s *rescueSteps) exportPool() engine.Step {
	k := s.k(nil)
	r := s.r
	return engine.Step{Name: "export",
		Description: fmt.Sprintf("in %s, export %s: its label now says the kernel zone's path", r.With, r.TempName),
		Planned:     slices.Concat(s.planImported(), [][]string{must(k.ZpoolExportArgv(r.With, r.TempName))}, s.planImported()),
		Commit:      true,
		Do:          local(s.export),
		Check: func(ctx context.Context, x *engine.Exec) (bool, error) {
			in, err := s.imported(ctx, x.Run)
			return err == nil && !in, err
		},
	}
}

func (s *rescueSteps) removeDevice() engine.Step {
	k := s.k(nil)
	r := s.r
	return engine.Step{Name: "remove-device",
		Description: fmt.Sprintf("remove device id %d (%s's boot disk) from rescue zone %s", r.DeviceID, r.Zone, r.With),
		Planned:     [][]string{k.InfoArgv(r.With), must(k.RemoveDeviceArgv(r.With, r.DeviceID)), k.InfoArgv(r.With)},
		Do:          local(s.removeOurs),
	}
}

func (s *rescueSteps) checkLabel() engine.Step {
	r := s.r
	return engine.Step{Name: "check-label",
		Description: fmt.Sprintf("read %s's boot disk label from this host (read-only): its phys_path must be /zvnex/zvblk@%d:b", r.Zone, r.DeviceID),
		Do: func(ctx context.Context, x *engine.Exec) error {
			lbl, err := s.b.readBootLabel(ctx, x.Run, r.Zone)
			if err != nil {
				return engine.Permanent(fmt.Errorf("the label of %s's boot disk could not be checked: %w; check it with volctl check-boot %s before booting it", r.Zone, err, r.Zone))
			}
			x.Note("%s", lbl.Says)
			if !lbl.Boots {
				return engine.Permanent(fmt.Errorf("after the rescue the label still says phys_path %q: %s", lbl.PhysPath, lbl.Says))
			}
			return nil
		},
	}
}
