package zonehost

import (
	"fmt"
	"path"
	"strings"

	"github.com/volctl/volctl/daemon/kz"
	"github.com/volctl/volctl/daemon/zones"
)

// checkRescue checks a rescue verb's arguments as the storage host's
// capture made them (docs/rescue.md §4), before anything is journaled or
// run: this host does not take the storage host's word for any of them.
// The zones themselves (states, devices) are the backend's to check.
func checkRescue(with string, r zones.Rescue) error {
	bad := func(what string, err error) error {
		return fmt.Errorf("%w: rescue of zone %q in zone %s: %s: %v", ErrInvalid, r.Zone, with, what, err)
	}
	if err := kz.ValidateZoneName(r.Zone); err != nil {
		return bad("zone", err)
	}
	if r.Zone == with {
		return bad("zone", fmt.Errorf("a zone cannot rescue itself"))
	}
	if err := kz.CheckStorage(r.Storage); err != nil {
		return bad("storage", err)
	}
	if r.DeviceID != kz.RescueDeviceID {
		return bad("device id", fmt.Errorf("%d: the broken disk gets id %d in the rescue zone, the id it boots from (docs/platform/kz-rescue.md §1)", r.DeviceID, kz.RescueDeviceID))
	}
	if err := kz.ValidatePoolName(r.Pool); err != nil {
		return bad("pool", err)
	}
	if err := kz.ValidatePoolName(r.TempName); err != nil {
		return bad("temporary name", err)
	}
	if err := checkAltroot(r.Altroot); err != nil {
		return bad("altroot", err)
	}
	return nil
}

// checkAltroot: an absolute, clean path other than /, each of whose
// bytes the rescue zone's shell leaves as it is (zlogin hands it the
// command line: docs/platform/kz-rescue.md §3).
func checkAltroot(a string) error {
	switch {
	case !strings.HasPrefix(a, "/") || path.Clean(a) != a:
		return fmt.Errorf("%q is not a clean absolute path", a)
	case a == "/":
		return fmt.Errorf("%q: the rescue zone's own root", a)
	case strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-") != "":
		return fmt.Errorf("%q has a character the rescue zone's shell would read", a)
	}
	return nil
}
