// Package config reads volctld's configuration file (TOML). Every key is
// documented in docs/volctld.toml, which the tests parse so the two cannot
// drift apart.
package config

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Config is volctld's configuration.
type Config struct {
	// Platform selects the backend: "solaris" (Solaris 11.4 / illumos,
	// COMSTAR, kernel zones) or "linux-tgt" (OpenZFS or zfs-fuse, tgt).
	Platform string `toml:"platform"`
	// Socket is the unix socket the API listens on.
	Socket string `toml:"socket"`
	// SocketMode is the socket's permission bits, as an octal string.
	SocketMode string `toml:"socket_mode"`
	// SocketGroup is the group that owns the socket (with socket_mode
	// "0660" its members can connect); empty keeps the daemon's group.
	SocketGroup string `toml:"socket_group"`
	// DB is the journal file.
	DB string `toml:"db"`
	// Commands are the absolute paths of the platform commands.
	Commands Commands `toml:"commands"`
	// Timeouts per command (by name) and the default, as Go durations.
	Timeouts Timeouts `toml:"timeouts"`
	// Retries bounds the roll-forward after the zfs rollback.
	Retries int `toml:"retries"`
	// RetryDelay is the first delay between retries (it grows linearly).
	RetryDelay Duration `toml:"retry_delay"`
	// MaxOutput caps what is kept of each command's stdout and stderr.
	MaxOutput int `toml:"max_output"`
	// MaxCommands bounds the host's commands running at once outside the
	// outage windows (captures, verifies, zone reads, inventory); the
	// commands of an open window never wait for them. MaxOpenWindows
	// bounds the outage windows open at once (an operation waits for one
	// before its LU goes). A command running past CommandStall stops
	// counting against either (docs/scheduling.md).
	MaxCommands    int      `toml:"max_commands"`
	MaxOpenWindows int      `toml:"max_open_windows"`
	CommandStall   Duration `toml:"command_stall"`
	// MaxConnections bounds the API connections open at once, over all
	// listeners; MaxConnectionsPerPeer those of one peer (a uid on the unix
	// socket, an address over TCP). Past them a connection is closed at
	// accept. 0 means the default.
	MaxConnections        int `toml:"max_connections"`
	MaxConnectionsPerPeer int `toml:"max_connections_per_peer"`
	// ReservedConnections is the part of MaxConnections only root,
	// operators and peers may use: the others are refused once
	// MaxConnections-ReservedConnections are open.
	ReservedConnections int `toml:"reserved_connections"`
	// MaxUnauthenticated bounds the TCP connections whose TLS handshake
	// has not ended (they are not counted in MaxConnections);
	// MaxUnauthenticatedPerAddress those from one source address.
	MaxUnauthenticated           int `toml:"max_unauthenticated"`
	MaxUnauthenticatedPerAddress int `toml:"max_unauthenticated_per_address"`
	// HandshakeTimeout bounds a new connection's set-up: the TLS handshake
	// and the HTTP/2 preface (unix socket: the preface).
	HandshakeTimeout Duration `toml:"handshake_timeout"`
	// MaxWatchesPerConnection and MaxWatchesPerCaller bound the
	// WatchOperation streams open at once on one connection and of one
	// caller (uid or certificate subject).
	MaxWatchesPerConnection int `toml:"max_watches_per_connection"`
	MaxWatchesPerCaller     int `toml:"max_watches_per_caller"`
	// MaxStreamsPerConnection bounds the calls open at once on one
	// connection, of any method (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS):
	// a call counts until its last byte has reached the client.
	MaxStreamsPerConnection int `toml:"max_streams_per_connection"`
	// ZoneShutdownTimeout bounds a zone's clean shutdown before --halt-zones
	// halts it.
	ZoneShutdownTimeout Duration `toml:"zone_shutdown_timeout"`
	// LUOnlineTimeout bounds the wait, after import-lu (or create-lu), for
	// the LU to be in the operational state it was captured in (solaris).
	LUOnlineTimeout Duration `toml:"lu_online_timeout"`
	// ZvolDeviceDir is where a volume's raw device is, POOL/VOL under it
	// (solaris): check-boot reads a kernel zone's boot disk label there,
	// read-only.
	ZvolDeviceDir string `toml:"zvol_device_dir"`
	// Roles map callers to roles.
	Roles Roles `toml:"roles"`
	// TCP is the optional mutual-TLS listener.
	TCP TCP `toml:"tcp"`
	// Metrics is the optional Prometheus listener.
	Metrics Metrics `toml:"metrics"`
	// Kept is how long the datasets of rollback --keep and undo are kept
	// (docs/keep.md); the default keeps them until forgotten.
	Kept Kept `toml:"kept"`
	// Journal is how long finished operations stay in the journal
	// (retention); the default keeps them all.
	Journal Journal `toml:"journal"`
	// Initiators are this host's iSCSI initiator node names (iscsiadm
	// list initiator-node). On a storage host, a session of one of them
	// is expected when this host's zones on the LU are detached; a zone
	// host reports them to the storage host.
	Initiators []string `toml:"initiators"`
	// Peers are the zone hosts a storage host asks about the zones on a
	// volume (their volctld's zone service, over mutual TLS).
	Peers []Peer `toml:"peers"`
}

// Peer is one zone host's volctld, as the storage host reaches it.
type Peer struct {
	// Name names the peer in plans, errors and --skip-peer.
	Name string `toml:"name"`
	// Address is its tcp.listen, HOST:PORT.
	Address string `toml:"address"`
	// CA signed the peer's server certificate.
	CA string `toml:"ca"`
	// Subject is the subject (CN or full) the peer's certificate must
	// carry; the connection is refused otherwise.
	Subject string `toml:"subject"`
	// Cert and Key are this host's client certificate for the peer (its
	// subject must be in the peer's roles.peer_subjects).
	Cert string `toml:"cert"`
	Key  string `toml:"key"`
	// Timeout bounds each call (default 10s). A zone action gets, on top,
	// what its zoneadm commands may take by this host's configuration:
	// the state read, the verb and the read-back, each within the zoneadm
	// timeout; a shutdown within zone_shutdown_timeout, then a halt.
	Timeout Duration `toml:"timeout"`
}

// Roles map unix callers (uid, group) and TLS callers (certificate subject
// CN or full subject) to roles: viewer (list, show, plan, history, audit,
// status) or operator (also snapshot, rollback, recover).
type Roles struct {
	OperatorUIDs     []int    `toml:"operator_uids"`
	OperatorGroups   []string `toml:"operator_groups"`
	OperatorSubjects []string `toml:"operator_subjects"`
	ViewerUIDs       []int    `toml:"viewer_uids"`
	ViewerGroups     []string `toml:"viewer_groups"`
	ViewerSubjects   []string `toml:"viewer_subjects"`
	// PeerSubjects are the storage hosts' certificate subjects that may
	// call the zone service (and nothing else).
	PeerSubjects []string `toml:"peer_subjects"`
}

// TCP is the network listener: mutual TLS only, never plain.
type TCP struct {
	Listen   string `toml:"listen"`
	Cert     string `toml:"cert"`
	Key      string `toml:"key"`
	ClientCA string `toml:"client_ca"`
}

// Metrics is the Prometheus listener (plain HTTP: bind it to loopback or a
// management network).
type Metrics struct {
	Listen string `toml:"listen"`
}

// Kept is the retention of kept datasets: volctld forgets (destroys, as
// volctl forget --destroy-kept does, journaled) a kept dataset KeepFor
// after its operation or once KeepLast newer ones of its volume are kept.
// Zero: no limit.
type Kept struct {
	KeepFor  Duration `toml:"keep_for"`
	KeepLast int      `toml:"keep_last"`
}

// Journal is the retention of the journal's history: volctld drops a
// finished operation KeepFor after it ended, or once KeepLast newer
// operations are journaled, except what recovery and undo need
// (store/retention.go). Zero: no limit.
type Journal struct {
	KeepFor  Duration `toml:"keep_for"`
	KeepLast int      `toml:"keep_last"`
}

// Commands are the platform commands' absolute paths.
type Commands struct {
	Zfs     string `toml:"zfs"`
	Zpool   string `toml:"zpool"`
	Stmfadm string `toml:"stmfadm"`
	Zoneadm string `toml:"zoneadm"`
	Zonecfg string `toml:"zonecfg"`
	// Hostid is hostid(1), optional (empty: the zone service reports no
	// hostid).
	Hostid string `toml:"hostid"`
	// Zlogin is zlogin(1), optional (empty: volctl rescue is refused; it
	// runs zpool inside the rescue zone through it).
	Zlogin string `toml:"zlogin"`
	Tgtadm string `toml:"tgtadm"`
	// TgtControlPort is tgtd's management port (tgtd -C N, tgtadm
	// --control-port); empty for the default tgtd.
	TgtControlPort string `toml:"tgt_control_port"`
}

// Timeouts are per-command deadlines.
type Timeouts struct {
	Default Duration            `toml:"default"`
	PerCmd  map[string]Duration `toml:"command"`
}

// Duration is a time.Duration written as "90s".
type Duration struct{ time.Duration }

// UnmarshalText parses a Go duration.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// MarshalText writes a Go duration.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Default is the configuration without a file.
func Default() Config {
	return Config{
		Platform:   "solaris",
		Socket:     "/var/run/volctld/volctld.sock",
		SocketMode: "0600",
		DB:         "/var/lib/volctl/journal.db",
		Commands: Commands{Zfs: "/usr/sbin/zfs", Zpool: "/usr/sbin/zpool", Stmfadm: "/usr/sbin/stmfadm", Zoneadm: "/usr/sbin/zoneadm",
			Zonecfg: "/usr/sbin/zonecfg", Tgtadm: "/usr/sbin/tgtadm"},
		Timeouts: Timeouts{Default: Duration{2 * time.Minute},
			PerCmd: map[string]Duration{"zoneadm": {10 * time.Minute}}},
		Retries:               3,
		RetryDelay:            Duration{time.Second},
		MaxOutput:             1 << 20,
		MaxCommands:           4, // engine.DefaultMaxCommands
		MaxOpenWindows:        2, // engine.DefaultMaxWindows
		CommandStall:          Duration{2 * time.Second},
		MaxConnections:        256,
		MaxConnectionsPerPeer: 32,
		ZoneShutdownTimeout:   Duration{3 * time.Minute},
		LUOnlineTimeout:       Duration{30 * time.Second},
		ZvolDeviceDir:         "/dev/zvol/rdsk",
		Roles:                 Roles{OperatorUIDs: []int{0}},

		ReservedConnections:          32,
		MaxUnauthenticated:           64,
		MaxUnauthenticatedPerAddress: 8,
		HandshakeTimeout:             Duration{5 * time.Second},
		MaxWatchesPerConnection:      16,
		MaxWatchesPerCaller:          64,
		MaxStreamsPerConnection:      32,
	}
}

// Load reads path over the defaults (Decode) and validates the values.
func Load(path string) (Config, error) {
	c, err := Decode(path)
	if err != nil {
		return c, err
	}
	return c, inFile(path, c.Validate())
}

// Decode reads path over the defaults without validating the values. Keys
// are exact: an unknown key, or one that differs from a known key only in
// case, is an error (a typo in a command path must not fall back silently
// to a default). One error per key, joined.
func Decode(path string) (Config, error) {
	c := Default()
	if path == "" {
		return c, nil
	}
	md, err := toml.DecodeFile(path, &c)
	if err != nil {
		return c, fmt.Errorf("config %s: %w", path, err)
	}
	return c, inFile(path, errors.Join(checkKeys(md)...))
}

// Check validates the values (Validate) and checks them against this host
// (CheckHost), as volctld does at start and -check-config does alone; path
// is the file they were read from ("" for none). One error per problem.
func (c Config) Check(path string) error {
	return inFile(path, errors.Join(c.Validate(), c.CheckHost()))
}

// inFile prefixes each of the (joined) errors with the file they are about,
// so that each stays one self-contained line.
func inFile(path string, err error) error {
	if err == nil || path == "" {
		return err
	}
	var errs []error
	for _, e := range flatten(err) {
		errs = append(errs, fmt.Errorf("config %s: %w", path, e))
	}
	return errors.Join(errs...)
}

func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var errs []error
		for _, e := range j.Unwrap() {
			errs = append(errs, flatten(e)...)
		}
		return errs
	}
	return []error{err}
}

// Validate checks the values, without looking at the host (CheckHost
// does). One error per problem, joined, in this order: platform and
// commands, paths and listeners, peers, limits, durations.
func (c Config) Validate() error {
	var errs []error
	errs = append(errs, c.validateCommands()...)
	errs = append(errs, c.validatePaths()...)
	errs = append(errs, c.validatePeers()...)
	errs = append(errs, c.validateLimits()...)
	errs = append(errs, c.validateDurations()...)
	return errors.Join(errs...)
}

// validateCommands checks the platform and [commands]: the platform's
// commands set, every path absolute.
func (c Config) validateCommands() []error {
	var errs []error
	switch c.Platform {
	case "solaris", "linux-tgt":
	default:
		errs = append(errs, fmt.Errorf("platform %q: want \"solaris\" or \"linux-tgt\"", c.Platform))
	}
	needed := map[string]bool{}
	for _, cmd := range c.platformCommands() {
		needed[cmd.name] = true
	}
	for _, cmd := range c.allCommands() {
		switch {
		case cmd.path == "" && needed[cmd.name]:
			errs = append(errs, fmt.Errorf("commands.%s is empty: platform %s runs it", cmd.name, c.Platform))
		case cmd.path != "" && !filepath.IsAbs(cmd.path):
			errs = append(errs, fmt.Errorf("commands.%s %q is not an absolute path", cmd.name, cmd.path))
		}
	}
	return errs
}

// validatePaths checks the socket and the journal paths, the socket's
// mode and the TCP listener's files.
func (c Config) validatePaths() []error {
	var errs []error
	if c.Socket == "" || !filepath.IsAbs(c.Socket) {
		errs = append(errs, fmt.Errorf("socket %q is not an absolute path", c.Socket))
	}
	if c.DB == "" || !filepath.IsAbs(c.DB) {
		errs = append(errs, fmt.Errorf("db %q is not an absolute path", c.DB))
	}
	if c.Socket != "" && filepath.Clean(c.Socket) == filepath.Clean(c.DB) {
		errs = append(errs, fmt.Errorf("socket %q is the journal (db): they must be different files", c.Socket))
	}
	if _, err := c.Mode(); err != nil {
		errs = append(errs, err)
	}
	if c.ZvolDeviceDir == "" || !filepath.IsAbs(c.ZvolDeviceDir) {
		errs = append(errs, fmt.Errorf("zvol_device_dir %q is not an absolute path", c.ZvolDeviceDir))
	}
	if c.TCP.Listen != "" && (c.TCP.Cert == "" || c.TCP.Key == "" || c.TCP.ClientCA == "") {
		errs = append(errs, fmt.Errorf("tcp.listen needs tcp.cert, tcp.key and tcp.client_ca: volctld never serves plain TCP"))
	}
	return errs
}

// validateLimits checks the counts: retries, connections, watches,
// streams, the handshake's deadline, the output cap.
func (c Config) validateLimits() []error {
	var errs []error
	if c.Retries < 0 {
		errs = append(errs, fmt.Errorf("retries %d is negative", c.Retries))
	}
	if c.MaxConnections < 0 || c.MaxConnectionsPerPeer < 0 {
		errs = append(errs, fmt.Errorf("max_connections %d / max_connections_per_peer %d: negative", c.MaxConnections, c.MaxConnectionsPerPeer))
	}
	for _, n := range []struct {
		key string
		n   int
	}{{"reserved_connections", c.ReservedConnections}, {"max_unauthenticated", c.MaxUnauthenticated},
		{"max_unauthenticated_per_address", c.MaxUnauthenticatedPerAddress},
		{"max_watches_per_connection", c.MaxWatchesPerConnection}, {"max_watches_per_caller", c.MaxWatchesPerCaller},
		{"max_streams_per_connection", c.MaxStreamsPerConnection}} {
		if n.n < 0 {
			errs = append(errs, fmt.Errorf("%s %d is negative", n.key, n.n))
		}
	}
	if c.MaxConnections > 0 && c.ReservedConnections >= c.MaxConnections {
		errs = append(errs, fmt.Errorf("reserved_connections %d: must be below max_connections %d, or callers without a reserve get no connection",
			c.ReservedConnections, c.MaxConnections))
	}
	if c.HandshakeTimeout.Duration <= 0 {
		errs = append(errs, fmt.Errorf("handshake_timeout %s: must be positive", c.HandshakeTimeout))
	}
	if c.MaxOutput < 0 {
		errs = append(errs, fmt.Errorf("max_output %d is negative", c.MaxOutput))
	}
	if c.Journal.KeepLast < 0 {
		errs = append(errs, fmt.Errorf("journal.keep_last %d is negative (0 keeps every operation)", c.Journal.KeepLast))
	}
	if c.Journal.KeepFor.Duration > 0 && c.Journal.KeepFor.Duration < time.Hour {
		errs = append(errs, fmt.Errorf("journal.keep_for %s is under an hour: a finished operation is what op show and history answer from; give at least \"1h\" (or \"0s\": no limit)", c.Journal.KeepFor))
	}
	if c.MaxCommands < 1 {
		errs = append(errs, fmt.Errorf("max_commands %d: must be at least 1, or no command outside an outage window could run", c.MaxCommands))
	}
	if c.MaxOpenWindows < 1 {
		errs = append(errs, fmt.Errorf("max_open_windows %d: must be at least 1, or no rollback could take its LU away", c.MaxOpenWindows))
	}
	if c.CommandStall.Duration <= 0 {
		errs = append(errs, fmt.Errorf("command_stall %s: must be positive", c.CommandStall))
	}
	if c.Kept.KeepLast < 0 {
		errs = append(errs, fmt.Errorf("kept.keep_last %d is negative (0 keeps every kept dataset until it is forgotten)", c.Kept.KeepLast))
	}
	return errs
}

// validateDurations checks that no duration is negative and that every
// timeouts.command key is the base name of a command in [commands].
func (c Config) validateDurations() []error {
	var errs []error
	for _, d := range []struct {
		key string
		d   Duration
	}{{"timeouts.default", c.Timeouts.Default}, {"retry_delay", c.RetryDelay}, {"zone_shutdown_timeout", c.ZoneShutdownTimeout},
		{"lu_online_timeout", c.LUOnlineTimeout}, {"kept.keep_for", c.Kept.KeepFor}, {"journal.keep_for", c.Journal.KeepFor}} {
		if d.d.Duration < 0 {
			errs = append(errs, fmt.Errorf("%s %s is negative", d.key, d.d))
		}
	}
	names := c.commandBaseNames()
	var perCmd []string
	for name := range c.Timeouts.PerCmd {
		perCmd = append(perCmd, name)
	}
	sort.Strings(perCmd)
	for _, name := range perCmd {
		if d := c.Timeouts.PerCmd[name]; d.Duration < 0 {
			errs = append(errs, fmt.Errorf("timeouts.command.%s %s is negative", name, d))
		}
		if !slices.Contains(names, name) {
			errs = append(errs, fmt.Errorf("timeouts.command.%s: no command in [commands] has that base name (want one of %s)",
				name, strings.Join(names, ", ")))
		}
	}
	return errs
}

// validatePeers checks [[peers]]: every field there, unique names, mutual
// TLS files, and only on the platform that has zones.
func (c Config) validatePeers() []error {
	var errs []error
	if len(c.Peers) > 0 && c.Platform != "solaris" {
		errs = append(errs, fmt.Errorf("peers: platform %s has no zones to ask peers about (peers are for solaris)", c.Platform))
	}
	seen := map[string]bool{}
	for i, p := range c.Peers {
		at := fmt.Sprintf("peers[%d]", i)
		if p.Name != "" {
			at = fmt.Sprintf("peers %q", p.Name)
		}
		if !peerNameRE.MatchString(p.Name) {
			errs = append(errs, fmt.Errorf("%s: name %q: want letters, digits, '.', '-', '_' (1-64)", at, p.Name))
		}
		if seen[p.Name] {
			errs = append(errs, fmt.Errorf("%s: name is used twice", at))
		}
		seen[p.Name] = true
		if _, _, err := net.SplitHostPort(p.Address); err != nil {
			errs = append(errs, fmt.Errorf("%s: address %q: want HOST:PORT (%v)", at, p.Address, err))
		}
		for _, f := range []struct{ key, path string }{{"ca", p.CA}, {"cert", p.Cert}, {"key", p.Key}} {
			if f.path == "" || !filepath.IsAbs(f.path) {
				errs = append(errs, fmt.Errorf("%s: %s %q is not an absolute path: peers talk mutual TLS only", at, f.key, f.path))
			}
		}
		if p.Subject == "" {
			errs = append(errs, fmt.Errorf("%s: subject is empty: the peer's certificate subject must be pinned", at))
		}
		if p.Timeout.Duration < 0 {
			errs = append(errs, fmt.Errorf("%s: timeout %s is negative", at, p.Timeout))
		}
	}
	for _, in := range c.Initiators {
		if !strings.HasPrefix(in, "iqn.") && !strings.HasPrefix(in, "eui.") && !strings.HasPrefix(in, "naa.") {
			errs = append(errs, fmt.Errorf("initiators: %q is not an iSCSI name (iqn., eui. or naa.)", in))
		}
	}
	return errs
}

var peerNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// PeerTimeout is a peer's call deadline.
func (p Peer) PeerTimeout() time.Duration {
	if p.Timeout.Duration > 0 {
		return p.Timeout.Duration
	}
	return 10 * time.Second
}

// modeRE is a strict octal permission mode: three octal digits, optionally
// after a 0 ("600", "0600").
var modeRE = regexp.MustCompile(`^0?[0-7]{3}$`)

// Mode parses SocketMode: strictly octal permission bits, nothing else.
func (c Config) Mode() (uint32, error) {
	if !modeRE.MatchString(c.SocketMode) {
		return 0, fmt.Errorf("socket_mode %q is not an octal mode like 0600", c.SocketMode)
	}
	m, err := strconv.ParseUint(c.SocketMode, 8, 32)
	if err != nil {
		return 0, fmt.Errorf("socket_mode %q is not an octal mode like 0600", c.SocketMode)
	}
	return uint32(m), nil
}

// CommandTimeouts returns the per-command map for the engine.
func (c Config) CommandTimeouts() map[string]time.Duration {
	m := map[string]time.Duration{}
	for k, v := range c.Timeouts.PerCmd {
		m[k] = v.Duration
	}
	return m
}
