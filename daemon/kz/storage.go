package kz

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/volctl/volctl/internal/zfsname"
)

// A zone's storage references (docs/platform/zone-storage.md): the storage
// URIs (suri(7)) of its device, rootzpool and zpool resources, and the
// paths (or, on illumos, glob patterns) of its device match properties,
// written "match=PATTERN" so that one string says which it is.
//
// ParseRef is strict: whatever it cannot read whole is an error, never "not
// ours", because a reference volctl misreads is a zone it would roll a disk
// back under.

// Ref is one parsed storage reference.
type Ref struct {
	// Raw is the reference as zonecfg printed it (unquoted).
	Raw string
	// Scheme is "dev", "lu", "iscsi" or "nfs" for a storage URI, "match"
	// for a device match property.
	Scheme string
	// Host and Port are an iscsi or nfs URI's authority (Port 0: none).
	Host string
	Port int
	// GUID is the NAA logical unit name (luname.naa.ID) in upper case; EUI
	// an EUI-64 one (luname.eui.ID). At most one is set.
	GUID, EUI string
	// Initiator and Target are the path of an lu: URI
	// (initiator.naa.ID,target.naa.ID, upper case), or Target alone the
	// target IQN of an iscsi target.IQN,lun.N URI (lower case).
	Initiator, Target string
	// LUN is the LUN of an iscsi target URI, -1 otherwise.
	LUN int
	// Path is a dev: URI's device path (absolute, under /dev, cleaned), a
	// match pattern (cleaned unless Glob), or an nfs URI's file path.
	Path string
	// Glob: the match pattern has glob characters (illumos).
	Glob bool
	// User and Group are an nfs URI's credentials.
	User, Group string
}

// ErrRef is wrapped by every ParseRef error.
var ErrRef = errors.New("storage reference volctl cannot read")

// MatchPrefix marks a device match property among storage URIs.
const MatchPrefix = "match="

// MaxLUN is the largest LUN an iscsi target URI may carry (a SAM flat
// LUN); COMSTAR's views go up to 16383.
const MaxLUN = 65535

var (
	// hexID is a 64- or 128-bit SCSI name in hex (suri(7): case
	// insensitive).
	hexID = regexp.MustCompile(`^([0-9A-Fa-f]{16}|[0-9A-Fa-f]{32})$`)
	// iscsiName is an iSCSI node name as a target may have it (RFC 3720
	// 3.2.6: iqn., eui. or naa. form; after stringprep lower case letters,
	// digits, '-', '.' and ':'). Compared case-insensitively.
	iscsiName = regexp.MustCompile(`^(?i)(iqn\.[a-z0-9.:-]+|eui\.[0-9a-f]{16}|naa\.([0-9a-f]{16}|[0-9a-f]{32}))$`)
	// devComponent: suri(7) allows only the POSIX portable file name
	// characters in a dev: path.
	devComponent = regexp.MustCompile(`^[0-9A-Za-z._-]+$`)
	// ctdName is a disk's /dev/[r]dsk name; with MPxIO (scsi_vhci) its
	// target part is the LU's name (suri(7) "Whole Disk Concept":
	// /dev/dsk/c0t5000c5000288fa25d0).
	ctdName = regexp.MustCompile(`^c[0-9]+t([0-9A-Fa-f]+)d[0-9]+(s[0-9]+|p[0-9]+)?$`)
	// hostName is an authority's host: a name or IPv4 address, or an IPv6
	// address in brackets.
	hostName = regexp.MustCompile(`^([A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])$`)
	// nfsCred is an nfs URI's user or group (a name or an id).
	nfsCred = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)
)

// ParseRef parses one storage reference: a storage URI of the forms
// suri(7) lists, or "match=PATTERN".
func ParseRef(s string) (Ref, error) {
	r := Ref{Raw: s, LUN: -1}
	bad := func(format string, a ...any) (Ref, error) {
		return r, fmt.Errorf("%w: %q: %s", ErrRef, s, fmt.Sprintf(format, a...))
	}
	if s == "" {
		return bad("empty")
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return bad("contains a space or a control or non-ASCII character")
		}
	}
	if pat, ok := strings.CutPrefix(s, MatchPrefix); ok {
		r.Scheme = "match"
		return parseMatch(r, pat)
	}
	scheme, rest, ok := strings.Cut(s, ":")
	if !ok {
		return bad("not a storage URI (no scheme)")
	}
	r.Scheme = strings.ToLower(scheme)
	switch r.Scheme {
	case "dev":
		return parseDev(r, rest)
	case "lu":
		return parseLU(r, rest)
	case "iscsi":
		return parseISCSI(r, rest)
	case "nfs":
		return parseNFS(r, rest)
	}
	return bad("unknown URI type %q (suri(7) has dev, lu, iscsi and nfs)", scheme)
}

func refErr(r Ref, format string, a ...any) (Ref, error) {
	return r, fmt.Errorf("%w: %q: %s", ErrRef, r.Raw, fmt.Sprintf(format, a...))
}

// parseDev reads dev:<path under /dev>, dev:///<path with /dev> and
// dev:<absolute path>. The path is cleaned ("//" and "." go, as the kernel
// resolves them); ".." is refused: after a symbolic link (every /dev/dsk
// entry is one) it does not mean what it says.
func parseDev(r Ref, p string) (Ref, error) {
	switch {
	case strings.HasPrefix(p, "//"):
		// dev://<absolute path>: the authority must be empty.
		if !strings.HasPrefix(p, "///") {
			return refErr(r, "dev URI with an authority (dev://HOST/...)")
		}
		p = p[2:]
	case strings.HasPrefix(p, "/"):
	default:
		p = "/dev/" + p
	}
	clean, err := devPath(p, true)
	if err != nil {
		return refErr(r, "%v", err)
	}
	r.Path = clean
	if _, err := zvolOf(clean); err != nil {
		return refErr(r, "%v", err)
	}
	return r, nil
}

// devPath checks and cleans an absolute device path: under /dev, no "..",
// and where portable (a dev: URI) each component of the portable file name
// characters suri(7) allows.
func devPath(p string, portable bool) (string, error) {
	var parts []string
	for _, c := range strings.Split(p, "/") {
		switch {
		case c == "" || c == ".":
		case c == "..":
			return "", errors.New(`".." in a device path`)
		case portable && !devComponent.MatchString(c):
			return "", fmt.Errorf("device path component %q has a character suri(7) does not allow", c)
		default:
			parts = append(parts, c)
		}
	}
	if len(parts) < 2 || parts[0] != "dev" {
		return "", errors.New("not a device path under /dev")
	}
	return "/" + strings.Join(parts, "/"), nil
}

// zvolOf returns the volume a cleaned /dev/zvol/{dsk,rdsk} path names, ""
// for any other device path, and an error for a zvol path that names no
// volume (a pool, or a name ZFS would refuse).
func zvolOf(p string) (string, error) {
	for _, pre := range []string{"/dev/zvol/dsk/", "/dev/zvol/rdsk/"} {
		if vol, ok := strings.CutPrefix(p, pre); ok {
			if !strings.Contains(vol, "/") {
				return "", fmt.Errorf("%s names a pool, not a volume", p)
			}
			if err := zfsname.ValidateDatasetName(vol); err != nil {
				return "", fmt.Errorf("%s: %v", p, err)
			}
			return vol, nil
		}
	}
	if p == "/dev/zvol" || strings.HasPrefix(p, "/dev/zvol/") {
		return "", fmt.Errorf("%s is not a /dev/zvol/dsk or /dev/zvol/rdsk volume path", p)
	}
	return "", nil
}

// parseMatch reads a device match property: an absolute path, on illumos
// possibly a glob pattern (fnmatch(3C) with FNM_PATHNAME, as zoneadm
// compares them).
func parseMatch(r Ref, pat string) (Ref, error) {
	if !strings.HasPrefix(pat, "/") {
		return refErr(r, "a device match that is not an absolute path")
	}
	if !strings.ContainsAny(pat, `*?[\`) {
		clean, err := devPath(pat, false)
		if err != nil {
			return refErr(r, "%v", err)
		}
		r.Path = clean
		if _, err := zvolOf(clean); err != nil {
			return refErr(r, "%v", err)
		}
		return r, nil
	}
	r.Glob = true
	for strings.Contains(pat, "//") {
		pat = strings.ReplaceAll(pat, "//", "/")
	}
	for _, c := range strings.Split(pat, "/") {
		if c == "." || c == ".." {
			return refErr(r, `"." or ".." in a device match pattern`)
		}
	}
	pat = fnmatchToGo(pat)
	if _, err := path.Match(pat, "/dev"); err != nil {
		return refErr(r, "device match pattern: %v", err)
	}
	r.Path = pat
	return r, nil
}

// fnmatchToGo turns fnmatch's negated class "[!...]" into path.Match's
// "[^...]"; the rest of the syntax is the same.
func fnmatchToGo(p string) string { return strings.ReplaceAll(p, "[!", "[^") }

// parseLU reads lu:luname.naa.ID, lu:luname.eui.ID and
// lu:initiator.naa.ID,target.naa.ID,luname.{naa,eui}.ID.
func parseLU(r Ref, rest string) (Ref, error) {
	f := strings.Split(rest, ",")
	switch len(f) {
	case 1:
	case 3:
		in, ok1 := cutID(f[0], "initiator.naa.")
		tg, ok2 := cutID(f[1], "target.naa.")
		if !ok1 || !ok2 {
			return refErr(r, "lu URI path is not initiator.naa.ID,target.naa.ID,luname...")
		}
		r.Initiator, r.Target = in, tg
	default:
		return refErr(r, "lu URI with %d comma-separated parts (1 or 3)", len(f))
	}
	if !setLuname(&r, f[len(f)-1]) {
		return refErr(r, "lu URI without a luname.naa.ID or luname.eui.ID (ID: 16 or 32 hex digits)")
	}
	return r, nil
}

// cutID cuts prefix (case-insensitively) off s and returns the hex ID
// after it in upper case.
func cutID(s, prefix string) (string, bool) {
	if len(s) <= len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return "", false
	}
	id := s[len(prefix):]
	if !hexID.MatchString(id) {
		return "", false
	}
	return strings.ToUpper(id), true
}

func setLuname(r *Ref, s string) bool {
	if id, ok := cutID(s, "luname.naa."); ok {
		r.GUID = id
		return true
	}
	if id, ok := cutID(s, "luname.eui."); ok && len(id) == 16 {
		r.EUI = id
		return true
	}
	return false
}

// parseISCSI reads iscsi://[host[:port]]/luname.{naa,eui}.ID and
// iscsi://[host[:port]]/target.IQN,lun.N.
func parseISCSI(r Ref, rest string) (Ref, error) {
	rest, ok := strings.CutPrefix(rest, "//")
	if !ok {
		return refErr(r, "iscsi URI without //")
	}
	auth, p, ok := strings.Cut(rest, "/")
	if !ok {
		return refErr(r, "iscsi URI without a path")
	}
	var err error
	if r.Host, r.Port, err = authority(auth); err != nil {
		return refErr(r, "%v", err)
	}
	if setLuname(&r, p) {
		return r, nil
	}
	target, lun, ok := strings.Cut(p, ",")
	if !ok || len(target) <= len("target.") || !strings.EqualFold(target[:len("target.")], "target.") {
		return refErr(r, "iscsi URI path is neither luname.naa.ID, luname.eui.ID nor target.IQN,lun.N")
	}
	name := target[len("target."):]
	if !iscsiName.MatchString(name) || len(name) > 223 {
		return refErr(r, "target %q is not an iSCSI name", name)
	}
	n, ok := strings.CutPrefix(strings.ToLower(lun), "lun.")
	if !ok || n == "" || len(n) > 5 || !isDigits(n) {
		return refErr(r, "iscsi target URI without lun.N after the target")
	}
	v, _ := strconv.Atoi(n)
	if v > MaxLUN {
		return refErr(r, "LUN %d out of range", v)
	}
	r.Target, r.LUN = strings.ToLower(name), v
	return r, nil
}

// authority reads "", "host", "host:port", "[v6]" or "[v6]:port".
func authority(a string) (string, int, error) {
	if a == "" {
		return "", 0, nil
	}
	host, port := a, ""
	if i := strings.LastIndex(a, ":"); i >= 0 && !strings.HasSuffix(a, "]") {
		host, port = a[:i], a[i+1:]
	}
	if !hostName.MatchString(host) {
		return "", 0, fmt.Errorf("authority %q: bad host", a)
	}
	if port == "" {
		if strings.HasSuffix(a, ":") {
			return "", 0, fmt.Errorf("authority %q: empty port", a)
		}
		return host, 0, nil
	}
	n, err := strconv.Atoi(port)
	if err != nil || !isDigits(port) || n < 1 || n > 65535 {
		return "", 0, fmt.Errorf("authority %q: bad port", a)
	}
	return host, n, nil
}

// parseNFS reads nfs://user:group@host[:port]/share-path/file (kernel
// zones only; a lofi device on the file).
func parseNFS(r Ref, rest string) (Ref, error) {
	rest, ok := strings.CutPrefix(rest, "//")
	if !ok {
		return refErr(r, "nfs URI without //")
	}
	auth, p, ok := strings.Cut(rest, "/")
	if !ok || p == "" {
		return refErr(r, "nfs URI without a file path")
	}
	cred, hostport, ok := strings.Cut(auth, "@")
	if !ok {
		return refErr(r, "nfs URI without user:group@")
	}
	user, group, ok := strings.Cut(cred, ":")
	if !ok || !nfsCred.MatchString(user) || !nfsCred.MatchString(group) {
		return refErr(r, "nfs URI credentials %q are not user:group", cred)
	}
	host, port, err := authority(hostport)
	if err != nil || host == "" {
		return refErr(r, "nfs URI host %q", hostport)
	}
	r.User, r.Group, r.Host, r.Port, r.Path = user, group, host, port, path.Clean("/"+p)
	return r, nil
}

// Zvol returns the ZFS volume a dev: URI or an exact device match names
// (/dev/zvol/dsk/VOL or /dev/zvol/rdsk/VOL, cleaned), on the host whose
// zone has it.
func (r Ref) Zvol() (string, bool) {
	if (r.Scheme != "dev" && r.Scheme != "match") || r.Glob {
		return "", false
	}
	vol, err := zvolOf(r.Path)
	return vol, err == nil && vol != ""
}

// DiskGUID returns the LU name a dev: URI or an exact device match carries
// in a /dev/dsk or /dev/rdsk disk name: c<N>t<GUID>d<N>[s<N>|p<N>], the
// name MPxIO gives a disk (docs/platform/zone-storage.md). Only a 32-digit
// target part is read as an LU name: a 16-digit one may be a target port's
// WWN (a disk without MPxIO), and no COMSTAR LU has a 16-digit name.
func (r Ref) DiskGUID() (string, bool) {
	if (r.Scheme != "dev" && r.Scheme != "match") || r.Glob {
		return "", false
	}
	dir, name := path.Split(r.Path)
	if dir != "/dev/dsk/" && dir != "/dev/rdsk/" {
		return "", false
	}
	m := ctdName.FindStringSubmatch(name)
	if m == nil || len(m[1]) != 32 {
		return "", false
	}
	return strings.ToUpper(m[1]), true
}

// NamesZvol reports whether the reference names volume vol of the host
// whose zone has it: its dev: path or device match, exact or glob.
func (r Ref) NamesZvol(vol string) bool {
	if v, ok := r.Zvol(); ok {
		return v == vol
	}
	if !r.Glob {
		return false
	}
	for _, p := range []string{"/dev/zvol/dsk/" + vol, "/dev/zvol/rdsk/" + vol} {
		if ok, _ := path.Match(r.Path, p); ok {
			return true
		}
	}
	return false
}

// NamesGUID reports whether the reference names the LU with that GUID:
// luname.naa.GUID (iscsi or lu), or a disk path (or glob) carrying it.
func (r Ref) NamesGUID(guid string) bool {
	guid = strings.ToUpper(guid)
	if r.GUID != "" {
		return r.GUID == guid
	}
	if g, ok := r.DiskGUID(); ok {
		return g == guid
	}
	if !r.Glob {
		return false
	}
	dsk, _ := path.Match(path.Dir(r.Path), "/dev/dsk")
	rdsk, _ := path.Match(path.Dir(r.Path), "/dev/rdsk")
	if !dsk && !rdsk {
		return false
	}
	for _, p := range guidDiskPaths(guid) {
		if ok, _ := path.Match(r.Path, p); ok {
			return true
		}
	}
	return false
}

// guidDiskPaths are the names a glob is tried against for an LU's disk:
// /dev/{dsk,rdsk}/c<0..63>t<GUID>d0 whole, with a slice (s0..s15) or an
// fdisk partition (p0..p4), the GUID in either case.
func guidDiskPaths(guid string) []string {
	var out []string
	for _, g := range []string{strings.ToUpper(guid), strings.ToLower(guid)} {
		for c := 0; c < 64; c++ {
			for _, dir := range []string{"/dev/dsk/", "/dev/rdsk/"} {
				base := fmt.Sprintf("%sc%dt%sd0", dir, c, g)
				out = append(out, base)
				for s := 0; s < 16; s++ {
					out = append(out, fmt.Sprintf("%ss%d", base, s))
				}
				for p := 0; p < 5; p++ {
					out = append(out, fmt.Sprintf("%sp%d", base, p))
				}
			}
		}
	}
	return out
}

// TargetLUN returns the target IQN (lower case) and LUN of an iscsi
// target.IQN,lun.N URI.
func (r Ref) TargetLUN() (string, int, bool) {
	if r.Scheme != "iscsi" || r.LUN < 0 {
		return "", 0, false
	}
	return r.Target, r.LUN, true
}
