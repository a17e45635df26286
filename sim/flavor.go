package sim

import (
	"fmt"
	"os"
	"strings"
)

// Platform flavors (docs/platform/README.md §5). The simulated host
// answers every command the way that platform does, refusals included.
const (
	// FlavorSolaris is Oracle Solaris 11.4, the default (an empty
	// State.Flavor means it): no written/written@, -t fs|vol aliases,
	// snapshot volsize "-", kernel zones, zoneadm list -s.
	FlavorSolaris = "solaris-11.4"
	// FlavorIllumos is illumos-gate (OmniOS, OpenIndiana, SmartOS):
	// written@ and bookmarks, no -t aliases, snapshot volsize "-", no
	// kernel zones, zoneadm list has no -s and -p prints 8 fields.
	FlavorIllumos = "illumos"
	// FlavorOpenZFS is OpenZFS 2.x, for the Linux backend's zvols: only the
	// zfs and zpool parts are modelled on purpose; stmfadm, zoneadm and
	// zonecfg behave as on illumos (a Linux host has none of them, and the
	// Linux backend never calls them).
	FlavorOpenZFS = "openzfs"
)

// FlavorEnv names the environment variable that picks the flavor
// `volctl-sim seed` and `volctl-sim init` use when --flavor is not given.
const FlavorEnv = "VOLCTL_SIM_FLAVOR"

// Knob names for SetKnob and `volctl-sim knob`.
const (
	KnobNoListP        = "no-list-p"         // State.NoListP
	KnobNoDeleteLUKeep = "no-delete-lu-keep" // State.NoDeleteLUKeep
)

// Flavors returns every flavor, the default first.
func Flavors() []string { return []string{FlavorSolaris, FlavorIllumos, FlavorOpenZFS} }

// checkFlavor returns an error naming the valid flavors if f is not one.
func checkFlavor(f string) error {
	for _, v := range Flavors() {
		if f == v {
			return nil
		}
	}
	return fmt.Errorf("unknown flavor %q (valid: %s)", f, strings.Join(Flavors(), ", "))
}

// flavor is State.Flavor with the empty default normalised.
func (s *State) flavor() string {
	if s.Flavor == "" {
		return FlavorSolaris
	}
	return s.Flavor
}

func (s *State) isSolaris() bool { return s.flavor() == FlavorSolaris }

// hasWritten: the written and written@<snap> properties exist (illumos
// 2012+ ZFS_PROP_WRITTEN, OpenZFS); Oracle Solaris has neither.
func (s *State) hasWritten() bool { return !s.isSolaris() }

// snapVolsize: `zfs get volsize VOL@SNAP` prints the number (OpenZFS PR
// #2265); Solaris and illumos-gate print "-".
func (s *State) snapVolsize() bool { return s.flavor() == FlavorOpenZFS }

// typeAliases: -t accepts fs and vol (Solaris 11); illumos and OpenZFS
// answer "invalid type".
func (s *State) typeAliases() bool { return s.isSolaris() }

// snapshotMany: one zfs snapshot command takes several operands, atomically
// (illumos zfs_main.c zfs_do_snapshot, OpenZFS); Oracle Solaris answers
// "too many arguments" (S11.0 zfs_do_snapshot; the 11.4 synopsis names one
// snapshot). docs/platform/zfs-snapshot.md.
func (s *State) snapshotMany() bool { return !s.isSolaris() }

// kernelZones: brand solaris-kz, zoneadm list -s, attach -x ... exist.
func (s *State) kernelZones() bool { return s.isSolaris() }

// DefaultFlavor is $VOLCTL_SIM_FLAVOR, else FlavorSolaris; an invalid value
// is an error.
func DefaultFlavor() (string, error) {
	f := os.Getenv(FlavorEnv)
	if f == "" {
		return FlavorSolaris, nil
	}
	if err := checkFlavor(f); err != nil {
		return "", fmt.Errorf("$%s: %w", FlavorEnv, err)
	}
	return f, nil
}

// InitFlavor is Init with the host set to flavor.
func InitFlavor(root, flavor string) error {
	if err := checkFlavor(flavor); err != nil {
		return fmt.Errorf("init %s: %w", root, err)
	}
	if err := Init(root); err != nil {
		return err
	}
	return SetFlavor(root, flavor)
}

// SetFlavor switches an existing host to flavor. The state is kept as it
// is (a kernel zone stays configured on an illumos host, but zoneadm then
// refuses to run it).
func SetFlavor(root, f string) error {
	if err := checkFlavor(f); err != nil {
		return err
	}
	return Update(root, func(s *State) error {
		s.Flavor = f
		return nil
	})
}

// SetKnob turns a platform knob on or off: KnobNoListP (Solaris 11.0-11.2
// zfs without `list -p`), KnobNoDeleteLUKeep (stmfadm delete-lu without
// -k, as the 11.2/11.3 man pages describe it) or KnobNewLUsOffline (stmf's
// default LU state is offline: new LUs start Offline; lustate.go).
func SetKnob(root, name string, on bool) error {
	return Update(root, func(s *State) error {
		switch name {
		case KnobNoListP:
			s.NoListP = on
		case KnobNoDeleteLUKeep:
			s.NoDeleteLUKeep = on
		case KnobNewLUsOffline:
			s.NewLUsOffline = on
		default:
			return fmt.Errorf("unknown knob %q (valid: %s, %s, %s)", name, KnobNoListP, KnobNoDeleteLUKeep, KnobNewLUsOffline)
		}
		return nil
	})
}

// SetStrict turns strict mode on or off. Commands behave exactly the same
// either way (a refusal is always the platform's own text and is always
// logged to ROOT/refused.log); strict mode only marks the refusal records
// (Refusal.Strict), so a harness can tell that the run asked for every
// refusal to count as a test failure.
func SetStrict(root string, on bool) error {
	return Update(root, func(s *State) error {
		s.Strict = on
		return nil
	})
}
