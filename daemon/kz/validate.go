package kz

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalidZoneName is wrapped by every ValidateZoneName error.
var ErrInvalidZoneName = errors.New("invalid zone name")

// ZonenameMax is ZONENAME_MAX from <sys/zone.h>: 64 bytes including the NUL.
const ZonenameMax = 64

// ValidateZoneName checks a zone name by the rules of illumos libzonecfg
// zonecfg_validate_zonename (illumos/illumos-gate
// usr/src/lib/libzonecfg/common/libzonecfg.c; the same function is in the
// Solaris 11 source): not "global"; shorter than ZONENAME_MAX (1..63
// characters); first character [A-Za-z0-9]; the rest [A-Za-z0-9_.-].
// Names beginning with "SUNW" are refused as well: zonecfg_set_name rejects
// them, zonecfg treats them as read-only and zoneadm's sanity_check refuses
// "operation is invalid for zones starting with SUNW."
// (usr/src/cmd/zoneadm/zoneadm.c).
func ValidateZoneName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty", ErrInvalidZoneName)
	case name == "global":
		return fmt.Errorf("%w %q: the global zone is reserved", ErrInvalidZoneName, name)
	case len(name) >= ZonenameMax:
		return fmt.Errorf("%w %q: longer than %d characters", ErrInvalidZoneName, name, ZonenameMax-1)
	case strings.HasPrefix(name, "SUNW"):
		return fmt.Errorf("%w %q: names starting with SUNW are reserved", ErrInvalidZoneName, name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if i == 0 && !alnum {
			return fmt.Errorf("%w %q: must start with a letter or digit", ErrInvalidZoneName, name)
		}
		if !alnum && c != '-' && c != '_' && c != '.' {
			return fmt.Errorf("%w %q: invalid character %q", ErrInvalidZoneName, name, c)
		}
	}
	return nil
}
