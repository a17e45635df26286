package kz

import (
	"fmt"
	"strconv"
	"strings"
)

// The commands of a rescue (issue 23, docs/rescue.md; the platform facts
// in docs/platform/kz-rescue.md): a kernel zone's boot disk added to a
// rescue kernel zone as a device, and its root pool imported and exported
// inside that zone (zlogin).
//
// Nothing here goes through a shell on this host: zonecfg takes its
// command string as one argv element. zlogin, though, hands the words
// after the zone's name to the zone's shell as one command line
// (docs/platform/kz-rescue.md §3): every word of a zlogin command is
// checked to be one the shell leaves as it is.

// ZpoolInZone is zpool's path inside a Solaris 11.4 kernel zone.
const ZpoolInZone = "/usr/sbin/zpool"

// RescueDeviceID is the device id the broken disk gets in the rescue
// zone: the id it has in its own zone, so that the import and export
// there write the phys_path that zone boots from (/zvnex/zvblk@0:b;
// docs/platform/kz-rescue.md §1).
const RescueDeviceID = 0

// RescueAltroot is where the rescue imports the root pool (the admin's
// note: zpool import -R /mnt/1).
const RescueAltroot = "/mnt/1"

// CheckStorage refuses a storage URI that zonecfg's command line would not
// take as one value (a ';' ends a command, blanks and quotes split or
// quote words) or that volctl cannot read (ParseRef).
func CheckStorage(uri string) error {
	if _, err := ParseRef(uri); err != nil {
		return err
	}
	if strings.HasPrefix(uri, MatchPrefix) {
		return fmt.Errorf("%w: %q is a device match, not a storage URI: a kernel zone's device has a storage URI", ErrRef, uri)
	}
	for _, c := range []byte(uri) {
		if !uriByte(c) {
			return fmt.Errorf("%w: %q has %q, which volctl does not put into a zonecfg command line", ErrRef, uri, c)
		}
	}
	return nil
}

func uriByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("/:._-,@%+=", c) >= 0
}

// shellSafe: a word the zone's shell passes on unchanged (no expansion,
// quoting or splitting).
func shellSafe(w string) bool {
	if w == "" {
		return false
	}
	for _, c := range []byte(w) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("/._-", c) >= 0) {
			return false
		}
	}
	return true
}

// AddDeviceArgv is `zonecfg -z ZONE 'add device; set storage=URI; set
// id=ID; end'`: a device without bootpri (not a boot device).
func (k Cmd) AddDeviceArgv(zone, storage string, id int) ([]string, error) {
	if err := ValidateZoneName(zone); err != nil {
		return nil, err
	}
	if err := CheckStorage(storage); err != nil {
		return nil, err
	}
	if id < 0 {
		return nil, fmt.Errorf("device id %d: an id is 0 or more", id)
	}
	return []string{k.Zonecfg, "-z", zone, fmt.Sprintf("add device; set storage=%s; set id=%d; end", storage, id)}, nil
}

// RemoveDeviceArgv is `zonecfg -z ZONE 'remove device id=ID'`.
func (k Cmd) RemoveDeviceArgv(zone string, id int) ([]string, error) {
	if err := ValidateZoneName(zone); err != nil {
		return nil, err
	}
	if id < 0 {
		return nil, fmt.Errorf("device id %d: an id is 0 or more", id)
	}
	return []string{k.Zonecfg, "-z", zone, "remove device id=" + strconv.Itoa(id)}, nil
}

// zloginArgv is `zlogin ZONE WORDS...`, each word checked (see above).
func (k Cmd) zloginArgv(zone string, words ...string) ([]string, error) {
	if err := ValidateZoneName(zone); err != nil {
		return nil, err
	}
	if k.Zlogin == "" {
		return nil, fmt.Errorf("no zlogin command configured ([commands] zlogin)")
	}
	for _, w := range words {
		if !shellSafe(w) {
			return nil, fmt.Errorf("%q would not reach zpool in zone %s as one word: zlogin hands the command to the zone's shell", w, zone)
		}
	}
	return append([]string{k.Zlogin, zone}, words...), nil
}

// ZpoolImportArgv is `zlogin ZONE zpool import -R ALTROOT -N -f -t TEMP
// POOL` (Solaris 11.4's -t TEMPNAME: the pool gets TEMP as its name until
// it is exported; the label keeps its own). POOL is the pool's name or,
// more precise, its GUID in decimal. -N mounts nothing, -f takes a pool
// another system (the global zone) had imported last.
func (k Cmd) ZpoolImportArgv(zone, altroot, temp, pool string) ([]string, error) {
	if err := ValidatePoolName(temp); err != nil {
		return nil, err
	}
	return k.zloginArgv(zone, ZpoolInZone, "import", "-R", altroot, "-N", "-f", "-t", temp, pool)
}

// ZpoolExportArgv is `zlogin ZONE zpool export POOL`.
func (k Cmd) ZpoolExportArgv(zone, pool string) ([]string, error) {
	if err := ValidatePoolName(pool); err != nil {
		return nil, err
	}
	return k.zloginArgv(zone, ZpoolInZone, "export", pool)
}

// ZpoolListArgv is `zlogin ZONE zpool list -H -o name`: the pools
// imported in the zone, one name a line.
func (k Cmd) ZpoolListArgv(zone string) ([]string, error) {
	return k.zloginArgv(zone, ZpoolInZone, "list", "-H", "-o", "name")
}

// ParsePoolNames reads `zpool list -H -o name`: one name a line, each a
// valid pool name; anything else is refused.
func ParsePoolNames(out []byte) ([]string, error) {
	var names []string
	for _, l := range lines(out) {
		if l == "" {
			continue
		}
		if err := ValidatePoolName(l); err != nil {
			return nil, fmt.Errorf("zpool list -H -o name printed %q: %v", l, err)
		}
		names = append(names, l)
	}
	return names, nil
}

// ValidatePoolName checks a pool name by zfs_namecheck.c pool_namecheck
// (illumos-gate usr/src/common/zfs/zfs_namecheck.c; docs/platform/kz-rescue.md
// §4): a letter first, then letters, digits, '_', '-', '.', ':' (no ':'
// here: the zone's shell is given it); not "mirror", "raidz*", "spare",
// "log", nor c[0-9]... (a disk's name); shorter than 256.
func ValidatePoolName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("invalid pool name: empty")
	case len(name) >= 256:
		return fmt.Errorf("invalid pool name %q: too long", name)
	case !('a' <= name[0] && name[0] <= 'z' || 'A' <= name[0] && name[0] <= 'Z'):
		return fmt.Errorf("invalid pool name %q: must begin with a letter", name)
	case name == "mirror" || name == "spare" || name == "log" || strings.HasPrefix(name, "raidz"):
		return fmt.Errorf("invalid pool name %q: reserved", name)
	case len(name) > 1 && name[0] == 'c' && '0' <= name[1] && name[1] <= '9':
		return fmt.Errorf("invalid pool name %q: names of the form c[0-9]... are disk names", name)
	}
	for _, c := range []byte(name) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.') {
			return fmt.Errorf("invalid pool name %q: invalid character %q", name, c)
		}
	}
	return nil
}
