package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeConfig writes body to a file in a temp dir and returns its path.
func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "volctld.toml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// lines splits a joined error into its problems, each without the file
// prefix.
func lines(err error, path string) []string {
	if err == nil {
		return nil
	}
	var out []string
	for _, l := range strings.Split(err.Error(), "\n") {
		out = append(out, strings.TrimPrefix(l, "config "+path+": "))
	}
	return out
}

func TestKeysAreExact(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []string // every problem, one a line; nil for none
	}{
		{"exact keys", "socket_mode = \"0660\"\n[roles]\noperator_uids = [0, 5]\n[timeouts.command]\nzoneadm = \"1m\"\n", nil},
		{"upper-case key", "SOCKET_MODE = \"0644\"\n",
			[]string{"key SOCKET_MODE: keys are case-sensitive; did you mean socket_mode?"}},
		{"overriding key differing in case", "socket_mode = \"0600\"\nSocket_Mode = \"0666\"\n",
			[]string{"key Socket_Mode: keys are case-sensitive; did you mean socket_mode?"}},
		{"table differing in case", "[Roles]\nOperator_UIDs = [5]\nviewer_uids = [6]\n",
			[]string{"key Roles: keys are case-sensitive; did you mean roles?"}},
		{"key in a table differing in case", "[roles]\nOperator_UIDs = [5]\n",
			[]string{"key roles.Operator_UIDs: keys are case-sensitive; did you mean roles.operator_uids?"}},
		{"nested table differing in case", "[timeouts.Command]\nzfs = \"1m\"\n",
			[]string{"key timeouts.Command: keys are case-sensitive; did you mean timeouts.command?"}},
		{"unknown key, a typo away from one", "[commands]\nzsf = \"/usr/sbin/zfs\"\n", []string{"unknown key commands.zsf; did you mean commands.zfs?"}},
		{"unknown keys, one a line", "colour = 1\n[tcp]\nlisten = \"\"\nport = 5\n",
			[]string{"unknown key colour", "unknown key tcp.port"}},
		{"typos: a letter left out, added, changed; a table", "socket_mod = \"0600\"\nretriess = 3\nplatfarm = \"solaris\"\n[role]\n",
			[]string{"unknown key socket_mod; did you mean socket_mode?", "unknown key retriess; did you mean retries?",
				"unknown key platfarm; did you mean platform?", "unknown key role; did you mean roles?"}},
		{"in a table, a typo away", "[timeouts]\ndefualt = \"1m\"\n", []string{"unknown key timeouts.defualt; did you mean timeouts.default?"}},
		{"too far from any key: no guess", "sock = \"/x\"\n", []string{"unknown key sock"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := writeConfig(t, tc.body)
			_, err := Decode(p)
			got := lines(err, p)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("Decode:\n got %q\nwant %q", got, tc.want)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "config "+p+": ") {
				t.Errorf("error does not name the file: %v", err)
			}
		})
	}
}

func TestModeIsStrictOctal(t *testing.T) {
	tests := []struct {
		mode string
		want uint32
		ok   bool
	}{
		{"0600", 0o600, true},
		{"0660", 0o660, true},
		{"660", 0o660, true},
		{"0777", 0o777, true},
		{"0000", 0, true},
		{"0660 junk", 0, false},
		{"0668", 0, false},
		{"668", 0, false},
		{"", 0, false},
		{"rw", 0, false},
		{"1777", 0, false},
		{"4755", 0, false},
		{"0o600", 0, false},
		{"+600", 0, false},
		{" 0600", 0, false},
		{"0600\n", 0, false},
		{"06600", 0, false},
		{"60", 0, false},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%q", tc.mode), func(t *testing.T) {
			c := Default()
			c.SocketMode = tc.mode
			got, err := c.Mode()
			if (err == nil) != tc.ok || got != tc.want {
				t.Errorf("Mode() = %#o, %v; want %#o, ok %v", got, err, tc.want, tc.ok)
			}
			if err != nil && err.Error() != fmt.Sprintf("socket_mode %q is not an octal mode like 0600", tc.mode) {
				t.Errorf("error %q", err)
			}
		})
	}
}

func FuzzMode(f *testing.F) {
	for _, s := range []string{"0600", "660", "0668", "0660 junk", "1777", "", "0o7", "-0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := Config{SocketMode: s}
		m, err := c.Mode()
		if err != nil {
			return
		}
		if m > 0o777 || (fmt.Sprintf("%03o", m) != s && fmt.Sprintf("%04o", m) != s) {
			t.Errorf("Mode(%q) = %#o: not exactly the octal digits written", s, m)
		}
	})
}

func TestValidateStrict(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		want []string
	}{
		{"default", func(*Config) {}, nil},
		{"empty command the platform runs", func(c *Config) { c.Commands.Zpool = "" },
			[]string{"commands.zpool is empty: platform solaris runs it"}},
		{"empty command the platform does not run", func(c *Config) { c.Commands.Tgtadm = "" }, nil},
		{"linux-tgt without tgtadm", func(c *Config) { c.Platform = "linux-tgt"; c.Commands.Tgtadm = "" },
			[]string{"commands.tgtadm is empty: platform linux-tgt runs it"}},
		{"linux-tgt without COMSTAR", func(c *Config) { c.Platform = "linux-tgt"; c.Commands.Stmfadm = ""; c.Commands.Zonecfg = "" }, nil},
		{"negative default timeout", func(c *Config) { c.Timeouts.Default.Duration = -1e9 },
			[]string{"timeouts.default -1s is negative"}},
		{"negative command timeout", func(c *Config) { c.Timeouts.PerCmd["zfs"] = Duration{-5e9} },
			[]string{"timeouts.command.zfs -5s is negative"}},
		{"negative retry delay", func(c *Config) { c.RetryDelay.Duration = -1 },
			[]string{"retry_delay -1ns is negative"}},
		{"negative zone shutdown timeout", func(c *Config) { c.ZoneShutdownTimeout.Duration = -60e9 },
			[]string{"zone_shutdown_timeout -1m0s is negative"}},
		{"negative max output", func(c *Config) { c.MaxOutput = -1 }, []string{"max_output -1 is negative"}},
		{"no command slot", func(c *Config) { c.MaxCommands = 0 },
			[]string{"max_commands 0: must be at least 1, or no command outside an outage window could run"}},
		{"negative window slots", func(c *Config) { c.MaxOpenWindows = -2 },
			[]string{"max_open_windows -2: must be at least 1, or no rollback could take its LU away"}},
		{"zero command stall", func(c *Config) { c.CommandStall.Duration = 0 }, []string{"command_stall 0s: must be positive"}},
		{"unknown command timeout", func(c *Config) { c.Timeouts.PerCmd["zfss"] = Duration{1e9} },
			[]string{"timeouts.command.zfss: no command in [commands] has that base name (want one of stmfadm, tgtadm, zfs, zoneadm, zonecfg, zpool)"}},
		{"timeout named by the base name of a custom path", func(c *Config) {
			c.Commands.Zfs = "/opt/zfs/bin/zfs-2.2"
			c.Timeouts.PerCmd["zfs-2.2"] = Duration{1e9}
		}, nil},
		{"socket is the journal", func(c *Config) { c.Socket = c.DB },
			[]string{`socket "/var/lib/volctl/journal.db" is the journal (db): they must be different files`}},
		{"several problems, one a line", func(c *Config) {
			c.SocketMode = "0668"
			c.Commands.Zfs = ""
			c.Retries = -1
		}, []string{"commands.zfs is empty: platform solaris runs it", `socket_mode "0668" is not an octal mode like 0600`, "retries -1 is negative"}},
		{"one problem of each kind, in their order", func(c *Config) {
			c.Platform = "bogus"
			c.Commands.Zpool = "zpool"
			c.DB = "journal.db"
			c.TCP.Listen = "127.0.0.1:1"
			c.Peers = []Peer{{Name: "zh", Address: "zh:9443", CA: "/ca.pem", Subject: "zh", Cert: "/c.pem", Key: "/k.pem"}}
			c.MaxStreamsPerConnection = -1
			c.HandshakeTimeout.Duration = 0
			c.LUOnlineTimeout.Duration = -1
		}, []string{`platform "bogus": want "solaris" or "linux-tgt"`, `commands.zpool "zpool" is not an absolute path`,
			`db "journal.db" is not an absolute path`,
			"tcp.listen needs tcp.cert, tcp.key and tcp.client_ca: volctld never serves plain TCP",
			"peers: platform bogus has no zones to ask peers about (peers are for solaris)",
			"max_streams_per_connection -1 is negative", "handshake_timeout 0s: must be positive", "lu_online_timeout -1ns is negative"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			tc.edit(&c)
			got := lines(c.Validate(), "")
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("Validate():\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

// TestLoadReportsEveryProblem: keys and values of a file, each problem on
// its own line naming the file.
func TestLoadReportsEveryProblem(t *testing.T) {
	p := writeConfig(t, "socket_mode = \"0660 junk\"\n[timeouts.command]\nZfs = \"-1s\"\n")
	_, err := Load(p)
	want := []string{
		`socket_mode "0660 junk" is not an octal mode like 0600`,
		"timeouts.command.Zfs -1s is negative",
		"timeouts.command.Zfs: no command in [commands] has that base name (want one of stmfadm, tgtadm, zfs, zoneadm, zonecfg, zpool)",
	}
	if got := lines(err, p); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Load:\n got %q\nwant %q", got, want)
	}
	for _, l := range strings.Split(err.Error(), "\n") {
		if !strings.HasPrefix(l, "config "+p+": ") {
			t.Errorf("line %q does not name the file", l)
		}
	}
}
