// Package sim is a simulated storage host: ZFS datasets and pool history,
// COMSTAR logical units and views, and kernel zones, driven through the same
// commands (zfs, zpool, stmfadm, zoneadm, zonecfg) with the output formats,
// error texts and exit codes of docs/platform/ (index:
// docs/platform/README.md). The host has a flavor (flavor.go: Oracle Solaris
// 11.4 by default, illumos, OpenZFS) and answers as that platform does, per
// those notes; every refusal is also logged to ROOT/refused.log. All state
// lives in ROOT/state.json; each command invocation is one process that
// locks, loads, acts and saves, so concurrent commands behave like on a real
// host. Fault rules in the state make chosen invocations fail, lie or hang,
// for testing an orchestrator.
//
// A host can also play the zone-host role of a simulated iSCSI fabric: its
// State names its own initiator (Initiator) and the roots of the storage
// hosts it reaches (Fabric). Its zoneadm then finds a kernel zone's iSCSI
// boot LU on those storage hosts, reachable only when the LU is registered
// and Online and one of its views admits the initiator through a target it
// has a session with (Targets, stmfadm list-target); the host data it reads
// and stamps lives on the storage host's zvol, which zoneadm locks after
// its own host (zone host first, then storage host; storage-host commands
// never lock a zone host). SeedTwoHosts builds such a pair.
package sim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// State is the whole simulated host. Fields are exported so tests can
// inspect and edit it through Load and Update.
type State struct {
	HostID   string `json:"hostid"`   // this global zone's hostid (8 hex)
	Hostname string `json:"hostname"` // this global zone's hostname
	Latency  string `json:"latency,omitempty"`
	// Concurrency is the model of which commands wait for which during
	// their latency (conc.go); empty means ConcurrencyHost.
	Concurrency string `json:"concurrency,omitempty"`

	// Flavor is the platform (FlavorSolaris, FlavorIllumos, FlavorOpenZFS);
	// empty means FlavorSolaris.
	Flavor string `json:"flavor,omitempty"`
	// NoListP models Solaris 11.0-11.2, whose zfs has no `list -p`.
	NoListP bool `json:"no_list_p,omitempty"`
	// NoDeleteLUKeep models a stmfadm whose delete-lu takes no -k (the
	// 11.2/11.3 man pages).
	NoDeleteLUKeep bool `json:"no_delete_lu_keep,omitempty"`
	// Strict marks refusal records (see SetStrict); output is unchanged.
	Strict bool `json:"strict,omitempty"`
	// NewLUsOffline models stmf's default_lu_state set to offline: a
	// registered LU starts Offline (lustate.go).
	NewLUsOffline bool `json:"new_lus_offline,omitempty"`
	// OnliningFor is how long an LU being onlined shows "Onlining", as a
	// Go duration; empty: online at once (lustate.go).
	OnliningFor string `json:"onlining_for,omitempty"`
	// LUPropErrors are the properties list-lu -v prints as "<error
	// retrieving property>", by uppercase GUID (lustate.go).
	LUPropErrors map[string][]string `json:"lu_prop_errors,omitempty"`

	NextTxg    uint64 `json:"next_txg"`
	NextZoneID int    `json:"next_zone_id"`
	NextKey    int    `json:"next_key"`
	LUCounter  int    `json:"lu_counter"`

	Datasets     []*Dataset         `json:"datasets"`
	LUs          map[string]*LU     `json:"lus"`   // key: uppercase GUID; registered LUs only
	ViewTable    map[string][]*View `json:"views"` // key: uppercase GUID; independent of LUs
	HostGroups   []*Group           `json:"host_groups"`
	TargetGroups []*Group           `json:"target_groups"`
	ProviderData map[string]string  `json:"provider_data"` // SMF sbd data: lowercase GUID -> file
	Zones        []*Zone            `json:"zones"`
	Faults       []*Fault           `json:"faults"`
	// History is the pools' command history (zpool history), oldest first.
	History []HistoryRecord `json:"history,omitempty"`

	// Targets are the iSCSI target ports (iscsit) with the sessions logged
	// in to them, in the order stmfadm list-target shows them.
	Targets []*Target `json:"targets,omitempty"`
	// Initiator is this host's iSCSI initiator name (IQN). A host with an
	// Initiator reaches an iSCSI LU only through views exposed to it (see
	// bootDisk); empty means the one-host model: any view will do.
	Initiator string `json:"initiator,omitempty"`
	// Fabric lists the absolute roots of the storage hosts this host (a
	// zone host) reaches over iSCSI; its kernel zones' iSCSI/LU boot disks
	// are looked up there instead of locally. A storage host must not have
	// a Fabric back to its zone hosts (the lock order is zone host, then
	// storage host).
	Fabric []string `json:"fabric,omitempty"`
}

// HistoryRecord is one command zpool history shows: a zfs or zpool command
// line that succeeded, logged to the pool it changed.
type HistoryRecord struct {
	Time int64  `json:"time"` // unix seconds, real wall time
	Pool string `json:"pool"`
	Cmd  string `json:"cmd"` // e.g. "zfs rollback -r pool/idisk0@snap1"
}

// Dataset is a filesystem or volume with its snapshots.
type Dataset struct {
	Name      string            `json:"name"`
	Type      string            `json:"type"` // "filesystem" or "volume"
	Creation  int64             `json:"creation"`
	CreateTxg uint64            `json:"createtxg"`
	Volsize   int64             `json:"volsize,omitempty"`
	Data      []byte            `json:"data,omitempty"`
	HostData  *HostData         `json:"hostdata,omitempty"`
	Props     map[string]string `json:"props,omitempty"` // local properties, e.g. stmf_sbd_lu
	Snapshots []*Snapshot       `json:"snapshots,omitempty"`
	// Origin is the snapshot ("ds@snap") this dataset is a clone of;
	// empty when it is not a clone (clone.go).
	Origin string `json:"origin,omitempty"`
	// UserProps are the user properties ("module:property") set locally.
	UserProps map[string]string `json:"user_props,omitempty"`
	// Refreservation of a volume; nil means equal to Volsize (what zfs
	// create -V sets), a clone starts at 0 ("none").
	Refreservation *int64 `json:"refreservation,omitempty"`
	// Label is the ZFS label of the pool on a kernel zone boot disk
	// (bootlabel.go); nil: the volume holds no pool the simulator knows.
	Label *BootLabel `json:"label,omitempty"`
	// Imported says who has the pool on this volume imported now (kernel
	// state, not disk content: snapshots do not keep it).
	Imported *PoolImport `json:"imported,omitempty"`
}

// Snapshot captures a volume's content (data and host data) and volsize.
// Properties are not captured: rollback leaves them as they are.
type Snapshot struct {
	Name      string    `json:"name"` // the part after '@'
	Creation  int64     `json:"creation"`
	CreateTxg uint64    `json:"createtxg"`
	Volsize   int64     `json:"volsize,omitempty"`
	Data      []byte    `json:"data,omitempty"`
	HostData  *HostData `json:"hostdata,omitempty"`
	// UserProps are the user properties set on the snapshot itself.
	UserProps map[string]string `json:"user_props,omitempty"`
	// Label is the volume's pool label when the snapshot was taken.
	Label *BootLabel `json:"label,omitempty"`
}

// HostData is the kernel-zone host data block kept on the boot disk.
type HostData struct {
	KeyID    string `json:"key_id"`
	Owner    string `json:"owner_hostid"`
	Hostname string `json:"hostname,omitempty"`
	State    string `json:"state"` // installed, running, detached
	Updated  int64  `json:"updated,omitempty"`
}

// LU is a registered sbd logical unit.
type LU struct {
	GUID     string `json:"guid"` // uppercase
	DataFile string `json:"data_file"`
	Alias    string `json:"alias"`
	Size     int64  `json:"size"`
	Blk      int    `json:"blk"`
	VID      string `json:"vid"`
	PID      string `json:"pid"`
	Serial   string `json:"serial,omitempty"`
	MgmtURL  string `json:"mgmt_url,omitempty"`
	WP       bool   `json:"wp,omitempty"`
	WCD      bool   `json:"wcd,omitempty"`
	State    string `json:"state"` // Online or Offline
	// OnlineAt (unix nanoseconds): until then an Online LU shows
	// "Onlining" (the kernel's queued online; lustate.go).
	OnlineAt int64 `json:"online_at,omitempty"`
	// Access is the ALUA access state as list-lu -v prints it; "" is
	// Active. Any other releases the zvol (lustate.go).
	Access string `json:"access,omitempty"`
	// Busy models initiators that keep the LU from going offline within
	// the kernel's 5 s: delete-lu then fails with "resource busy" (after it
	// has already dropped provider data and, without -k, the views).
	Busy bool `json:"busy,omitempty"`
	// Held is the volume the LU holds open when it was renamed under the
	// LU (illumos and OpenZFS rename an open zvol; clone.go); empty: the
	// volume its data file names.
	Held string `json:"held,omitempty"`
}

// zvolName is the volume the LU's backing store is: Held, else the one
// its data file names.
func (lu *LU) zvolName() (string, bool) {
	if lu.Held != "" {
		return lu.Held, true
	}
	return zvolOfPath(lu.DataFile)
}

// View is one view entry of a GUID. Empty group means All.
type View struct {
	Entry       int    `json:"entry"`
	HostGroup   string `json:"host_group,omitempty"`
	TargetGroup string `json:"target_group,omitempty"`
	LUN         int    `json:"lun"`
}

// Group is a host group or target group.
type Group struct {
	Name    string   `json:"name"`
	Members []string `json:"members,omitempty"`
}

// Target is an iSCSI target port (provider iscsit) and its sessions.
type Target struct {
	Name     string     `json:"name"` // IQN
	Alias    string     `json:"alias,omitempty"`
	Sessions []*Session `json:"sessions,omitempty"`
}

// Session is an initiator logged in to a target.
type Session struct {
	Initiator string `json:"initiator"` // IQN
	Alias     string `json:"alias,omitempty"`
	Since     int64  `json:"since"` // unix seconds of the login
}

// Zone is a non-global zone (kernel zones are what matters here).
type Zone struct {
	Name    string        `json:"name"`
	Brand   string        `json:"brand"`
	IPType  string        `json:"ip_type"` // excl or shared
	UUID    string        `json:"uuid"`
	State   string        `json:"state"`
	ID      int           `json:"id,omitempty"` // set while ready/running
	Key     string        `json:"key"`          // /etc/zones/keys/<name>
	HostID  string        `json:"hostid,omitempty"`
	Devices []*ZoneDevice `json:"devices,omitempty"`
	// Aux is the auxiliary state zoneadm list -s shows ("suspended": the
	// next boot resumes a memory image; attach -x initialize-hostdata
	// forgets it).
	Aux string `json:"aux,omitempty"`
	// RootZpool and Zpools are a solaris-brand zone's pools on shared
	// storage (zonecfg rootzpool and zpool resources), each one or more
	// storage URIs; nil/empty when it has none (zonestorage.go).
	RootZpool []string    `json:"rootzpool,omitempty"`
	Zpools    []*ZonePool `json:"zpools,omitempty"`
}

// ZoneDevice is a zonecfg device resource. BootPri nil = not specified.
// A device has a Storage URI or a Match path (illumos: possibly a glob).
type ZoneDevice struct {
	ID      int    `json:"id"`
	Storage string `json:"storage"`
	Match   string `json:"match,omitempty"`
	BootPri *int   `json:"bootpri,omitempty"`
}

// ZonePool is a zonecfg zpool resource: the pool zonename_Name on the
// storage URIs (several: a mirror).
type ZonePool struct {
	Name    string   `json:"name"`
	Storage []string `json:"storage"`
}

// Dataset returns the filesystem or volume with that name, or nil.
func (s *State) Dataset(name string) *Dataset {
	for _, d := range s.Datasets {
		if d.Name == name {
			return d
		}
	}
	return nil
}

// Zvol returns the volume with that name, or nil.
func (s *State) Zvol(name string) *Dataset {
	if d := s.Dataset(name); d != nil && d.Type == "volume" {
		return d
	}
	return nil
}

// Snapshot returns the named snapshot of the dataset, or nil.
func (d *Dataset) Snapshot(name string) *Snapshot {
	for _, sn := range d.Snapshots {
		if sn.Name == name {
			return sn
		}
	}
	return nil
}

// LU returns the registered LU with that GUID (any case), or nil.
func (s *State) LU(guid string) *LU {
	return s.LUs[strings.ToUpper(guid)]
}

// Views returns the view entries of a GUID (any case), sorted by entry.
func (s *State) Views(guid string) []*View {
	vs := append([]*View(nil), s.ViewTable[strings.ToUpper(guid)]...)
	sort.Slice(vs, func(i, j int) bool { return vs[i].Entry < vs[j].Entry })
	return vs
}

// Zone returns the zone with that name, or nil.
func (s *State) Zone(name string) *Zone {
	for _, z := range s.Zones {
		if z.Name == name {
			return z
		}
	}
	return nil
}

// Target returns the target with that name (compared as stmfadm compares
// device ids: an iqn. name case-insensitively), or nil.
func (s *State) Target(name string) *Target {
	want, ok := deviceID(name)
	if !ok {
		return nil
	}
	for _, t := range s.Targets {
		if id, ok := deviceID(t.Name); ok && id == want {
			return t
		}
	}
	return nil
}

// HostGroup returns the named host group, or nil.
func (s *State) HostGroup(name string) *Group { return findGroup(s.HostGroups, name) }

// TargetGroup returns the named target group, or nil.
func (s *State) TargetGroup(name string) *Group { return findGroup(s.TargetGroups, name) }

func findGroup(gs []*Group, name string) *Group {
	for _, g := range gs {
		if g.Name == name {
			return g
		}
	}
	return nil
}

// zvolOfPath maps /dev/zvol/rdsk/POOL/VOL or /dev/zvol/dsk/POOL/VOL to
// POOL/VOL, as sbd_get_zvol_name does.
func zvolOfPath(path string) (string, bool) {
	for _, p := range []string{"/dev/zvol/rdsk/", "/dev/zvol/dsk/"} {
		if strings.HasPrefix(path, p) && len(path) > len(p) {
			return path[len(p):], true
		}
	}
	return "", false
}

// holder returns the registered LU that holds the zvol open exclusively
// (through either alias path), or nil. An LU that is not Active on this
// node has released it (sbd closes the backing store of a standby LU).
func (s *State) holder(zvol string) *LU {
	for _, g := range sortedKeys(s.LUs) {
		lu := s.LUs[g]
		if name, ok := lu.zvolName(); ok && name == zvol && lu.active() {
			return lu
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// now returns a creation time that never goes backwards within the state,
// so creation order and createtxg order agree even with a fake seed clock.
func (s *State) now() int64 {
	t := time.Now().Unix()
	for _, d := range s.Datasets {
		if d.Creation >= t {
			t = d.Creation + 1
		}
		for _, sn := range d.Snapshots {
			if sn.Creation >= t {
				t = sn.Creation + 1
			}
		}
	}
	return t
}

func (s *State) txg() uint64 {
	s.NextTxg++
	return s.NextTxg
}

func newState() *State {
	return &State{
		HostID:       "8f3a21c4",
		Hostname:     "sim-host1",
		NextTxg:      1,
		NextZoneID:   1,
		NextKey:      1,
		LUs:          map[string]*LU{},
		ViewTable:    map[string][]*View{},
		ProviderData: map[string]string{},
	}
}

// fillMaps makes nil maps empty after decoding, so commands can write to them.
func (s *State) fillMaps() {
	if s.LUs == nil {
		s.LUs = map[string]*LU{}
	}
	if s.ViewTable == nil {
		s.ViewTable = map[string][]*View{}
	}
	if s.ProviderData == nil {
		s.ProviderData = map[string]string{}
	}
}

func statePath(root string) string { return filepath.Join(root, "state.json") }

func readState(root string) (*State, error) {
	s, _, err := readStateRaw(root)
	return s, err
}

// readStateRaw is readState that also returns the bytes it decoded.
func readStateRaw(root string) (*State, []byte, error) {
	b, err := os.ReadFile(statePath(root))
	if err != nil {
		return nil, nil, fmt.Errorf("read state: %w", err)
	}
	s := &State{}
	if err := json.Unmarshal(b, s); err != nil {
		return nil, nil, fmt.Errorf("decode %s: %w", statePath(root), err)
	}
	s.fillMaps()
	return s, b, nil
}

// encodeState is the state file's content: compact JSON (volctl-sim state
// prints it indented), which every write uses, so that the bytes read can
// stand for the state before a command in the change check.
func encodeState(s *State) ([]byte, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("encode state: %w", err)
	}
	return append(b, '\n'), nil
}

// writeState replaces state.json atomically (temp file + renameOver), so a
// reader without the lock never sees a half-written file.
func writeState(root string, s *State) error {
	b, err := encodeState(s)
	if err != nil {
		return err
	}
	if err := writeStateBytes(root, b); err != nil {
		return err
	}
	return syncImages(root, s) // the boot disk images (diskimage.go)
}

// writeStateBytes replaces state.json with b (from encodeState).
func writeStateBytes(root string, b []byte) error {
	f, err := os.CreateTemp(root, ".state-*.json")
	if err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(f.Name())
		return fmt.Errorf("write state: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write state: %w", err)
	}
	if err := renameOver(f.Name(), statePath(root)); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write state: %w", err)
	}
	return nil
}

// latencyOf reads the host's latency and concurrency model without the
// lock and without decoding the whole state: a command that waits before
// it locks and loads need not decode the state twice. It looks for the two
// top-level fields in the compact encoding (a string value cannot hold
// their key unescaped); anything unexpected reads as no latency.
func latencyOf(root string) (time.Duration, string) {
	b, err := os.ReadFile(statePath(root))
	if err != nil {
		return 0, ""
	}
	field := func(key string) string {
		pat := []byte(`"` + key + `":`)
		i := bytes.Index(b, pat)
		if i < 0 {
			return ""
		}
		v := bytes.TrimLeft(b[i+len(pat):], " ")
		if len(v) == 0 || v[0] != '"' {
			return ""
		}
		v = v[1:]
		j := bytes.IndexByte(v, '"')
		if j < 0 {
			return ""
		}
		return string(v[:j])
	}
	d, err := time.ParseDuration(field("latency"))
	if err != nil || d <= 0 {
		return 0, ""
	}
	s := State{Concurrency: field("concurrency")}
	return d, s.concurrency()
}

// Init creates an empty host at root: the directory, state.json and usr/sbin/.
func Init(root string) error {
	if err := os.MkdirAll(filepath.Join(root, "usr", "sbin"), 0o755); err != nil {
		return fmt.Errorf("init %s: %w", root, err)
	}
	l, err := lockHost(root)
	if err != nil {
		return fmt.Errorf("init %s: %w", root, err)
	}
	defer l.unlock()
	return writeState(root, newState())
}

// Load returns a snapshot of the state; changing it changes nothing on disk.
func Load(root string) (*State, error) {
	l, err := lockHost(root)
	if err != nil {
		return nil, err
	}
	defer l.unlock()
	return readState(root)
}

// Update runs fn on the state under the lock and saves the result if fn
// returns nil.
func Update(root string, fn func(*State) error) error {
	l, err := lockHost(root)
	if err != nil {
		return err
	}
	defer l.unlock()
	s, err := readState(root)
	if err != nil {
		return err
	}
	if err := fn(s); err != nil {
		return err
	}
	return writeState(root, s)
}

// AddFault appends a fault rule; its invocation counter starts at zero.
func AddFault(root string, f Fault) error {
	if err := f.validate(); err != nil {
		return err
	}
	f.Seen, f.Fired = 0, 0
	return Update(root, func(s *State) error {
		s.Faults = append(s.Faults, &f)
		return nil
	})
}

// ClearFaults removes every fault rule.
func ClearFaults(root string) error {
	return Update(root, func(s *State) error {
		s.Faults = nil
		return nil
	})
}

// SetLatency sets the delay slept before every platform command (0 = none).
func SetLatency(root string, d time.Duration) error {
	return Update(root, func(s *State) error {
		s.Latency = ""
		if d > 0 {
			s.Latency = d.String()
		}
		return nil
	})
}

// WriteData replaces a volume's content, as an initiator writing to it would.
func WriteData(root, zvol string, data []byte) error {
	return Update(root, func(s *State) error {
		d := s.Zvol(zvol)
		if d == nil {
			return fmt.Errorf("write %s: %w", zvol, ErrNoZvol)
		}
		d.Data = append([]byte(nil), data...)
		return nil
	})
}

// ReadData returns a volume's content.
func ReadData(root, zvol string) ([]byte, error) {
	s, err := Load(root)
	if err != nil {
		return nil, err
	}
	d := s.Zvol(zvol)
	if d == nil {
		return nil, fmt.Errorf("read %s: %w", zvol, ErrNoZvol)
	}
	return d.Data, nil
}

// ErrNoZvol is returned by the Go API for a volume that does not exist.
var ErrNoZvol = errors.New("no such volume")

// sameContent reports whether two volume contents (data + host data) are equal.
func sameContent(d1 []byte, h1 *HostData, d2 []byte, h2 *HostData) bool {
	if !bytes.Equal(d1, d2) {
		return false
	}
	if h1 == nil || h2 == nil {
		return h1 == h2
	}
	return *h1 == *h2
}

func cloneHostData(h *HostData) *HostData {
	if h == nil {
		return nil
	}
	c := *h
	return &c
}
