package sim

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// zonecfg -z Z 'add device; set storage=URI; set id=N; [set bootpri=N;] end'
// and zonecfg -z Z 'remove device id=N' (docs/platform/kz-boot.md §5): the
// device resource of a kernel zone (storage, id, bootpri; Solaris 11.4,
// "Creating and Using Oracle Solaris Kernel Zones", "Managing Kernel Zone
// Storage Devices and Boot Order") or, on illumos, of any zone (match).
// Errors print as zonecfg.c zerr() does in command-line mode: the message
// and a newline on stderr; the exit status is 1.

func zcfgErr(e *env, format string, a ...any) int {
	e.errf(format+"\n", a...)
	return 1
}

// zonecfgDevice runs one command line of add device ... end or remove
// device, as one transaction (nothing changes unless all of it is valid).
func zonecfgDevice(e *env, z *Zone, line string) int {
	var cmds [][]string
	for _, c := range strings.Split(line, ";") {
		if w := strings.Fields(c); len(w) > 0 {
			cmds = append(cmds, w)
		}
	}
	if z.active() {
		// [UNV] a real zonecfg changes the persistent configuration of a
		// running zone (applied at its next boot; -r is live
		// reconfiguration): the simulator refuses instead (kz-boot.md §5).
		return zcfgRefuse(e, "%s: simulator: zone '%s' is %s: its device resources are not changed while it runs (zonecfg -r is not simulated)", e.name, z.Name, z.State)
	}
	switch cmds[0][0] {
	case "remove":
		if len(cmds) != 1 {
			return zcfgRefuse(e, "%s: simulator: remove device takes no further commands", e.name)
		}
		return zonecfgRemoveDevice(e, z, cmds[0][2:])
	}
	// add device; set ...; end
	if len(cmds[0]) != 2 || cmds[0][1] != "device" {
		return zcfgRefuse(e, "%s: simulator: only 'add device' is simulated: %s", e.name, strings.Join(cmds[0], " "))
	}
	if last := cmds[len(cmds)-1]; len(last) != 1 || last[0] != "end" {
		// In command-line mode zonecfg commits a resource only at end.
		return zcfgRefuse(e, "%s: simulator: 'add device' without 'end' is not simulated", e.name)
	}
	kz := z.isKZ() && e.s.kernelZones()
	dev := &ZoneDevice{ID: -1}
	for _, c := range cmds[1 : len(cmds)-1] {
		if c[0] != "set" || len(c) != 2 {
			return zcfgRefuse(e, "%s: simulator: only 'set property=value' is simulated in a device resource: %s", e.name, strings.Join(c, " "))
		}
		prop, val, ok := strings.Cut(c[1], "=")
		if !ok || val == "" {
			return zcfgRefuse(e, "%s: simulator: 'set %s' without a value", e.name, c[1])
		}
		switch {
		case prop == "match":
			dev.Match = val
		case prop == "storage" && e.s.kernelZones():
			if _, isLU := parseLunRef(val); !isLU && !strings.HasPrefix(val, "dev:") {
				// [UNV] the suri(7) forms the simulator resolves.
				return zcfgRefuse(e, "storage: invalid storage URI '%s'", val)
			}
			dev.Storage = val
		case (prop == "id" || prop == "bootpri") && kz:
			n, err := strconv.Atoi(val)
			if err != nil || n < 0 {
				return zcfgRefuse(e, "%s: invalid value '%s'", prop, val) // [UNV]
			}
			if prop == "id" {
				dev.ID = n
			} else {
				dev.BootPri = &n
			}
		default:
			// [UNV] the lexer's text for a property the brand lacks.
			return zcfgRefuse(e, "%s: unknown property for resource device", prop)
		}
	}
	switch {
	case dev.Storage == "" && dev.Match == "":
		if kz {
			return zcfgErr(e, "storage not specified") // [UNV]
		}
		return zcfgErr(e, "match not specified") // illumos zonecfg.c end_func
	case dev.Storage != "" && dev.Match != "":
		return zcfgErr(e, "storage and match are mutually exclusive") // [UNV]
	}
	if !kz {
		dev.ID = 0
	} else if dev.ID < 0 {
		// [UNV] an id left unset gets the lowest free one.
		used := map[int]bool{}
		for _, d := range z.Devices {
			used[d.ID] = true
		}
		for dev.ID = 0; used[dev.ID]; dev.ID++ {
		}
	}
	for _, d := range z.Devices {
		if kz && d.ID == dev.ID {
			return zcfgErr(e, "add device: id %d is already in use", dev.ID) // [UNV]
		}
		if (dev.Storage != "" && d.Storage == dev.Storage) || (dev.Match != "" && d.Match == dev.Match) {
			// illumos zonecfg_add_dev: Z_INSUFFICIENT_SPEC/duplicate [UNV]
			return zcfgErr(e, "add device: a device with that %s already exists", map[bool]string{true: "storage", false: "match"}[dev.Storage != ""])
		}
	}
	z.Devices = append(z.Devices, dev)
	sort.SliceStable(z.Devices, func(i, j int) bool { return z.Devices[i].ID < z.Devices[j].ID })
	return 0
}

// zonecfgRemoveDevice is remove device PROP=VALUE...: the one device
// matching every given property goes (zonecfg.c remove_resource: the
// properties select it; none matching is Z_NO_RESOURCE_ID, more than one
// Z_INSUFFICIENT_SPEC).
func zonecfgRemoveDevice(e *env, z *Zone, filters []string) int {
	if len(filters) == 0 {
		// [UNV] zonecfg asks "Are you sure ... (y/[n])?" interactively and
		// refuses in command-line mode without -F.
		return zcfgRefuse(e, "%s: simulator: remove device needs a property to select it (e.g. id=0)", e.name)
	}
	var hits []int
	for i, d := range z.Devices {
		ok := true
		for _, f := range filters {
			prop, val, _ := strings.Cut(f, "=")
			switch prop {
			case "id":
				ok = ok && z.isKZ() && strconv.Itoa(d.ID) == val
			case "storage":
				ok = ok && d.Storage == val
			case "match":
				ok = ok && d.Match == val
			case "bootpri":
				ok = ok && d.BootPri != nil && strconv.Itoa(*d.BootPri) == val
			default:
				return zcfgRefuse(e, "%s: unknown property for resource device", prop) // [UNV]
			}
		}
		if ok {
			hits = append(hits, i)
		}
	}
	switch len(hits) {
	case 0:
		// libzonecfg zonecfg_strerror(Z_NO_RESOURCE_ID).
		return zcfgErr(e, "remove device: No such resource with that id")
	case 1:
		z.Devices = append(z.Devices[:hits[0]:hits[0]], z.Devices[hits[0]+1:]...)
		return 0
	}
	// zonecfg_strerror(Z_INSUFFICIENT_SPEC).
	return zcfgErr(e, "remove device: Insufficient specification for resource")
}

func zcfgRefuse(e *env, format string, a ...any) int {
	e.errf("%s\n", fmt.Sprintf(format, a...))
	e.refuse(e.lastErr)
	return 1
}
