// Package kz parses the output of the Solaris zone commands volctl runs for
// kernel zones (brand solaris-kz): zoneadm list -p and zonecfg info, plus the
// storage URIs (suri(7)) that name a zone's disks, and validates zone names.
//
// Everything here is a pure function from bytes to values: no exec, no I/O.
// Formats come from docs/platform/zones.md (zones.md below). Much of it is
// documentation or inference rather than captured output, so the parsers
// tolerate layout deviations (extra fields, CRLF, blank lines, indentation)
// but reject lines they cannot read safely.
package kz

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
)

// Zone is one line of `zoneadm list -p` (zones.md §3.1). ID is the numeric zone
// id, or "-" when the zone is not running/ready. Zonepath has "\:" unescaped.
type Zone struct {
	ID                                         string
	Name, State, Zonepath, UUID, Brand, IPType string
}

// zoneFields is how many leading fields of a list -p line Zone uses.
const zoneFields = 7

func lines(out []byte) []string {
	var ls []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 64*1024), len(out)+1)
	for sc.Scan() {
		ls = append(ls, strings.TrimSuffix(sc.Text(), "\r"))
	}
	return ls
}

// ParseZoneadmList parses `zoneadm list -cp` or `zoneadm -z Z list -p`
// (zones.md §3.1):
//
//	zoneid:zonename:state:zonepath:uuid:brand:ip-type[:rw:file-mac-profile...]
//
// Lines are split on ':' not preceded by '\' ("\:" is an escaped colon in the
// zonepath), the first 7 fields are used and any further fields ignored, as
// Oracle's IPS parser does. A line with fewer than 7 fields, an ID that is
// neither "-" nor a number, or an empty name or state is an error: it is not
// zoneadm list -p output (e.g. an error message on the wrong stream).
func ParseZoneadmList(out []byte) ([]Zone, error) {
	var zones []Zone
	for n, l := range lines(out) {
		if strings.TrimSpace(l) == "" {
			continue
		}
		f := splitUnescaped(l)
		if len(f) < zoneFields {
			return nil, fmt.Errorf("zoneadm list line %d: %d fields, want at least %d", n+1, len(f), zoneFields)
		}
		z := Zone{ID: f[0], Name: f[1], State: f[2], Zonepath: f[3], UUID: f[4], Brand: f[5], IPType: f[6]}
		if z.ID != "-" && !isDigits(z.ID) {
			return nil, fmt.Errorf("zoneadm list line %d: invalid zone id %q", n+1, z.ID)
		}
		if z.Name == "" || z.State == "" {
			return nil, fmt.Errorf("zoneadm list line %d: empty zone name or state", n+1)
		}
		zones = append(zones, z)
	}
	return zones, nil
}

// splitUnescaped splits s on ':' except "\:", which becomes ':'.
func splitUnescaped(s string) []string {
	var (
		f   []string
		cur strings.Builder
	)
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && i+1 < len(s) && s[i+1] == ':':
			cur.WriteByte(':')
			i++
		case s[i] == ':':
			f = append(f, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(s[i])
		}
	}
	return append(f, cur.String())
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// Resource is one resource block of `zonecfg info`, e.g. Type "device",
// Props {"storage": "iscsi://...", "id": "0", "bootpri": "0"}.
type Resource struct {
	Type  string
	Props map[string]string
	// Repeated holds every value, in order, of a property the block gives
	// more than once: a rootzpool's or zpool's storage list
	// (docs/platform/zone-storage.md). Props has the last of them.
	Repeated map[string][]string `json:",omitempty"`
}

// Values returns every value of property k: one, several (Repeated) or
// none.
func (r Resource) Values(k string) []string {
	if vs, ok := r.Repeated[k]; ok {
		return vs
	}
	if v, ok := r.Props[k]; ok {
		return []string{v}
	}
	return nil
}

// ParseInfo parses `zonecfg -z Z info device` or a full `zonecfg -z Z info`
// (zones.md §4.1):
//
//	device:
//	        match not specified
//	        storage: dev:/dev/zvol/dsk/rpool/VARSHARE/zones/kzone1/disk0
//	        id: 0
//	        bootpri: 0
//
// A line at column 0 that is just "type:" opens a resource; indented
// "name: value" lines are its properties, split on the first ": " only
// (storage URIs contain ':'); "name not specified" lines are omitted. Lines
// of nested sub-resources are folded into the enclosing resource.
//
// Global properties ("zonename: kz1", and also an empty "pool:" with no
// indented lines after it) are collected into one Resource with Type "",
// returned first when there are any. Surrounding "[...]" (alias display) is
// removed. An indented line before any resource is an error.
func ParseInfo(out []byte) ([]Resource, error) {
	var (
		res     []Resource
		globals = map[string]string{}
		props   = -1 // index in res of the open resource, -1 if none
		nprops  int  // indented lines seen in the open resource
	)
	closeRes := func() {
		if props >= 0 && nprops == 0 { // "pool:" etc.: an empty global, not a resource
			globals[res[props].Type] = ""
			res = res[:props]
		}
		props = -1
	}
	for n, raw := range lines(out) {
		if strings.TrimSpace(raw) == "" {
			continue
		}
		indented := raw[0] == ' ' || raw[0] == '\t'
		l := strings.TrimSpace(raw)
		if strings.HasPrefix(l, "[") && strings.HasSuffix(l, "]") {
			l = strings.TrimSpace(l[1 : len(l)-1])
		}
		if indented {
			if props < 0 {
				return nil, fmt.Errorf("zonecfg info line %d: property %q outside a resource", n+1, l)
			}
			nprops++
			if k, v, ok := splitProp(l); ok {
				r := &res[props]
				if old, seen := r.Props[k]; seen {
					if r.Repeated == nil {
						r.Repeated = map[string][]string{}
					}
					if r.Repeated[k] == nil {
						r.Repeated[k] = []string{old}
					}
					r.Repeated[k] = append(r.Repeated[k], v)
				}
				r.Props[k] = v
			}
			continue
		}
		closeRes()
		if k, v, ok := splitProp(l); ok && v == "" && !strings.Contains(l, ": ") {
			res = append(res, Resource{Type: k, Props: map[string]string{}})
			props, nprops = len(res)-1, 0
			continue
		}
		if k, v, ok := splitProp(l); ok {
			globals[k] = v
		}
	}
	closeRes()
	if len(globals) > 0 {
		res = append([]Resource{{Type: "", Props: globals}}, res...)
	}
	return res, nil
}

// splitProp splits "name: value" on the first ": " (or a trailing ':').
// "name not specified" and lines without a colon give ok=false. A value in
// double quotes is unquoted: zonecfg prints a value that has a space in
// quotes (illumos zonecfg.c output_prop, quoteit), with nothing escaped
// inside, so a value with a quote inside is left as printed.
func splitProp(l string) (k, v string, ok bool) {
	if k, v, ok = strings.Cut(l, ": "); ok {
		k = strings.TrimSpace(k)
		return k, unquote(strings.TrimSpace(v)), k != ""
	}
	if k, ok = strings.CutSuffix(l, ":"); ok {
		k = strings.TrimSpace(k)
		return k, "", k != ""
	}
	return "", "", false
}

func unquote(v string) string {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' && !strings.Contains(v[1:len(v)-1], `"`) {
		return v[1 : len(v)-1]
	}
	return v
}

// ParseListAux parses `zoneadm list -cs` (zones.md §3.3): a
// header line (NAME STATUS AUXILIARY STATE), then per zone its name, state
// and, when it has one, its auxiliary state ("suspended", "debugging",
// "panicked"). It returns zone name -> auxiliary state ("" when none).
func ParseListAux(out []byte) (map[string]string, error) {
	m := map[string]string{}
	for i, l := range lines(out) {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		if f[0] == "NAME" {
			continue
		}
		if len(f) < 2 {
			return nil, fmt.Errorf("zoneadm list -s line %d: %q: want NAME STATUS [AUXILIARY STATE]", i+1, l)
		}
		m[f[0]] = strings.Join(f[2:], " ")
	}
	return m, nil
}
