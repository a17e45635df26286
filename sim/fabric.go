package sim

import (
	"bytes"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The simulated iSCSI fabric: target ports with sessions on a storage host,
// and zone hosts whose zoneadm reaches a kernel zone's boot LU on a storage
// host only when that host exposes it to the zone host's initiator.

// loggedIn returns the normalised names of the targets the initiator has a
// session with.
func (s *State) loggedIn(initiator string) map[string]bool {
	ini, ok := deviceID(initiator)
	if !ok {
		return nil
	}
	set := map[string]bool{}
	for _, t := range s.Targets {
		if t.session(ini) >= 0 {
			name, _ := deviceID(t.Name)
			set[name] = true
		}
	}
	return set
}

// groupHas reports whether the named group of gs has member m (device ids
// compared normalised).
func groupHas(gs []*Group, name, m string) bool {
	g := findGroup(gs, name)
	want, ok := deviceID(m)
	if g == nil || !ok {
		return false
	}
	for _, x := range g.Members {
		if id, ok := deviceID(x); ok && id == want {
			return true
		}
	}
	return false
}

// exposes reports whether view v lets initiator see the LU: host group All
// or one the initiator is a member of, and target group All or one holding
// a target it is logged in to (docs/platform/comstar.md §7.2). logged is
// s.loggedIn(initiator); without a session there is no path at all.
func (s *State) exposes(v *View, initiator string, logged map[string]bool) bool {
	if len(logged) == 0 {
		return false
	}
	if v.HostGroup != "" && !groupHas(s.HostGroups, v.HostGroup, initiator) {
		return false
	}
	if v.TargetGroup == "" {
		return true
	}
	for t := range logged {
		if groupHas(s.TargetGroups, v.TargetGroup, t) {
			return true
		}
	}
	return false
}

// lunRef is the logical unit an iSCSI or LU storage URI names: by GUID
// (luname.naa.GUID), or by target and LUN (iscsi://HOST[:PORT]/target.IQN,
// lun.N, docs/platform/zone-storage.md §1).
type lunRef struct {
	guid   string // uppercase; "" for the target form
	target string // normalised IQN
	lun    int
}

var targetLunRE = lazyRE(`(?i)^iscsi://[^/]*/target\.([^,/]+),lun\.([0-9]+)$`)

func parseLunRef(storage string) (lunRef, bool) {
	if m := lunameRE().FindStringSubmatch(storage); m != nil {
		return lunRef{guid: strings.ToUpper(m[1])}, true
	}
	if m := targetLunRE().FindStringSubmatch(storage); m != nil {
		t, ok := deviceID(m[1])
		n, err := strconv.Atoi(m[2])
		if ok && err == nil {
			return lunRef{target: t, lun: n}, true
		}
	}
	return lunRef{}, false
}

// reach resolves ref on this (storage) host to the zvol behind the LU, as
// initiator would reach it: the LU registered and Online, and a view of it
// exposed to the initiator (for the target form: a view with that LUN,
// exposed through that target, which the initiator must be logged in to).
// An empty initiator is the one-host model: any view of the LU will do
// (the target form: any view with that LUN whose target group admits the
// target).
func (s *State) reach(ref lunRef, initiator string) *Dataset {
	var logged map[string]bool
	admits := func(v *View) bool { return true }
	if initiator != "" {
		logged = s.loggedIn(initiator)
		admits = func(v *View) bool { return s.exposes(v, initiator, logged) }
	}
	var lu *LU
	if ref.guid != "" {
		lu = s.LU(ref.guid)
		if lu == nil {
			return nil
		}
		seen := false
		for _, v := range s.Views(lu.GUID) {
			seen = seen || admits(v)
		}
		if !seen {
			return nil
		}
	} else {
		if initiator != "" && !logged[ref.target] {
			return nil
		}
	find:
		for _, g := range sortedKeys(s.ViewTable) {
			for _, v := range s.Views(g) {
				through := v.TargetGroup == "" || groupHas(s.TargetGroups, v.TargetGroup, ref.target)
				if v.LUN == ref.lun && through && admits(v) && s.LU(g) != nil {
					lu = s.LU(g)
					break find
				}
			}
		}
		if lu == nil {
			return nil
		}
	}
	if lu.status(time.Now()) != "Online" || !lu.active() {
		return nil
	}
	name, ok := lu.zvolName()
	if !ok {
		return nil
	}
	return s.Zvol(name)
}

// peer is a fabric storage host that one zoneadm invocation has locked and
// loaded; it is saved (if changed) and unlocked when the command ends.
type peer struct {
	root   string
	lock   *hostLock
	s      *State
	before []byte
}

// bootDisk resolves the zone's boot storage URI to the zvol behind it (and
// so its host data), the way the initiator would reach it. A dev: URI names
// a local zvol, usable when no LU holds it open. An iSCSI/LU URI names an
// LU: on a host without a Fabric, a local one (see State.reach: with no
// Initiator, any view will do); on a zone host, one on the first storage
// host of the Fabric that exposes it to this host's Initiator. That storage
// host stays locked until the command ends (closePeers), so the host data
// read and stamped there is part of this invocation.
func (e *env) bootDisk(z *Zone) *Dataset {
	return e.deviceDisk(z.bootDevice())
}

// deviceDisk resolves any device of a zone as bootDisk resolves the boot
// device (nil: no device, or no path to a volume).
func (e *env) deviceDisk(d *ZoneDevice) *Dataset {
	if d == nil {
		return nil
	}
	ref, ok := parseLunRef(d.Storage)
	if !ok {
		p, isDev := devicePath(d)
		if !isDev {
			return nil
		}
		g, isLU := diskGUID(p)
		if !isLU {
			return e.s.devDisk(p)
		}
		ref = lunRef{guid: g}
	}
	if len(e.s.Fabric) == 0 {
		return e.s.reach(ref, e.s.Initiator)
	}
	for _, root := range e.s.Fabric {
		if e.isSelf(root) {
			if disk := e.s.reach(ref, e.s.Initiator); disk != nil {
				return disk
			}
			continue
		}
		p, fresh := e.peer(root)
		if p == nil {
			continue // storage host down: no path through it
		}
		if disk := p.s.reach(ref, e.s.Initiator); disk != nil {
			return disk
		}
		if fresh {
			// Nothing here: let go at once, so a command never holds more
			// than the one storage host it uses.
			e.dropPeer(p)
		}
	}
	return nil
}

// devicePath is the device path a device names: its dev: URI's path
// (dev:dsk/..., dev:/dev/..., dev:///dev/...) or its match path, cleaned
// as the kernel resolves it ("//" and "." dropped).
func devicePath(d *ZoneDevice) (string, bool) {
	p := d.Match
	if p == "" {
		var ok bool
		if p, ok = strings.CutPrefix(d.Storage, "dev:"); !ok {
			return "", false
		}
		if !strings.HasPrefix(p, "/") {
			p = "/dev/" + p
		}
	}
	p = path.Clean("/" + strings.TrimLeft(p, "/"))
	return p, strings.HasPrefix(p, "/dev/")
}

// diskGUIDRE is a multipath (scsi_vhci) disk name: its target part is the
// LU's GUID.
var diskGUIDRE = lazyRE(`^/dev/r?dsk/c[0-9]+t([0-9A-Fa-f]{32})d[0-9]+(s[0-9]+|p[0-9]+)?$`)

// diskGUID returns the LU GUID a /dev/[r]dsk multipath disk name carries.
func diskGUID(p string) (string, bool) {
	if m := diskGUIDRE().FindStringSubmatch(p); m != nil {
		return strings.ToUpper(m[1]), true
	}
	return "", false
}

// devDisk resolves a device path to a zvol not held open by an LU, or nil.
func (s *State) devDisk(path string) *Dataset {
	name, ok := zvolOfPath(path)
	if !ok || s.holder(name) != nil {
		return nil
	}
	return s.Zvol(name)
}

// isSelf reports whether a fabric root is this host's own root.
func (e *env) isSelf(root string) bool {
	if e.root == "" {
		return false
	}
	a, err1 := os.Stat(root)
	b, err2 := os.Stat(e.root)
	if err1 == nil && err2 == nil {
		return os.SameFile(a, b)
	}
	return filepath.Clean(root) == filepath.Clean(e.root)
}

// peer returns the locked, loaded storage host at root (fresh: locked by
// this call), or nil if it cannot be reached.
func (e *env) peer(root string) (p *peer, fresh bool) {
	for _, p := range e.peers {
		if p.root == root {
			return p, false
		}
	}
	l, err := lockPeer(root)
	if err != nil {
		return nil, false
	}
	s, before, err := readStateRaw(root)
	if err != nil {
		l.unlock()
		return nil, false
	}
	p = &peer{root: root, lock: l, s: s, before: before}
	e.peers = append(e.peers, p)
	return p, true
}

func (e *env) dropPeer(p *peer) {
	p.lock.unlock()
	for i, q := range e.peers {
		if q == p {
			e.peers = append(e.peers[:i:i], e.peers[i+1:]...)
			return
		}
	}
}

// closePeers saves every peer whose state the command changed and unlocks
// them all; it returns the first save error.
func (e *env) closePeers() error {
	var first error
	for _, p := range e.peers {
		after, err := encodeState(p.s)
		if err == nil && !bytes.Equal(after, p.before) {
			err = writeState(p.root, p.s)
		}
		if err != nil && first == nil {
			first = fmt.Errorf("storage host %s: %w", p.root, err)
		}
		p.lock.unlock()
	}
	e.peers = nil
	return first
}
