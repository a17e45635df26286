package config

import (
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

const docPath = "../../docs/volctld.toml"

// TestDocumentedConfigIsTheDefault parses the documented file: it must be
// valid and say exactly the defaults.
func TestDocumentedConfigIsTheDefault(t *testing.T) {
	got, err := Load(docPath)
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	// The doc lists empty tables as [] where the default has nil.
	got.Roles.OperatorGroups, got.Roles.OperatorSubjects = nil, nil
	got.Roles.ViewerUIDs, got.Roles.ViewerGroups, got.Roles.ViewerSubjects = nil, nil, nil
	got.Roles.PeerSubjects, got.Initiators = nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("docs/volctld.toml differs from Default():\n got %+v\nwant %+v", got, want)
	}
}

// TestEveryKeyIsDocumented fails when a configuration key has no line in
// docs/volctld.toml.
func TestEveryKeyIsDocumented(t *testing.T) {
	doc, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	var walk func(typ reflect.Type, table string)
	walk = func(typ reflect.Type, table string) {
		for i := 0; i < typ.NumField(); i++ {
			f := typ.Field(i)
			key := strings.Split(f.Tag.Get("toml"), ",")[0]
			if key == "" || key == "-" {
				continue
			}
			if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(Duration{}) {
				full := strings.TrimPrefix(table+"."+key, ".")
				if !strings.Contains(string(doc), "["+full+"]") {
					t.Errorf("table [%s] is not documented", full)
				}
				walk(f.Type, full)
				continue
			}
			if f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct {
				full := strings.TrimPrefix(table+"."+key, ".")
				if !strings.Contains(string(doc), "[["+full+"]]") {
					t.Errorf("array of tables [[%s]] is not documented", full)
				}
				walk(f.Type.Elem(), full)
				continue
			}
			if f.Type.Kind() == reflect.Map {
				full := strings.TrimPrefix(table+"."+key, ".")
				if !strings.Contains(string(doc), "["+full+"]") {
					t.Errorf("table [%s] is not documented", full)
				}
				continue
			}
			re := regexp.MustCompile(`(?m)^#?\s*` + regexp.QuoteMeta(key) + `\s*=`)
			if !re.Match(doc) {
				t.Errorf("key %s (table [%s]) is not documented", key, table)
			}
		}
	}
	walk(reflect.TypeOf(Config{}), "")
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"default is valid", func(*Config) {}, ""},
		{"unknown platform", func(c *Config) { c.Platform = "aix" }, "platform"},
		{"relative command", func(c *Config) { c.Commands.Zfs = "zfs" }, "not an absolute path"},
		{"plain tcp", func(c *Config) { c.TCP.Listen = "0.0.0.0:7443" }, "never serves plain TCP"},
		{"bad mode", func(c *Config) { c.SocketMode = "rw" }, "octal"},
		{"relative db", func(c *Config) { c.DB = "j.db" }, "db"},
		{"peer without tls", func(c *Config) {
			c.Peers = []Peer{{Name: "kz-host1", Address: "h:7443", Subject: "kz-host1"}}
		}, "mutual TLS only"},
		{"peer without subject", func(c *Config) {
			c.Peers = []Peer{{Name: "kz-host1", Address: "h:7443", CA: "/ca", Cert: "/c", Key: "/k"}}
		}, "subject is empty"},
		{"peer name twice", func(c *Config) {
			p := Peer{Name: "kz-host1", Address: "h:7443", CA: "/ca", Cert: "/c", Key: "/k", Subject: "kz-host1"}
			c.Peers = []Peer{p, p}
		}, "used twice"},
		{"peer bad address", func(c *Config) {
			c.Peers = []Peer{{Name: "kz-host1", Address: "h", CA: "/ca", Cert: "/c", Key: "/k", Subject: "kz-host1"}}
		}, "HOST:PORT"},
		{"peer bad name", func(c *Config) {
			c.Peers = []Peer{{Name: "-x", Address: "h:1", CA: "/ca", Cert: "/c", Key: "/k", Subject: "kz-host1"}}
		}, "name \"-x\""},
		{"peers on linux", func(c *Config) {
			c.Platform, c.Commands.Tgtadm = "linux-tgt", "/usr/sbin/tgtadm"
			c.Peers = []Peer{{Name: "kz-host1", Address: "h:1", CA: "/ca", Cert: "/c", Key: "/k", Subject: "kz-host1"}}
		}, "peers are for solaris"},
		{"bad initiator", func(c *Config) { c.Initiators = []string{"kz-host1"} }, "not an iSCSI name"},
		{"reserve takes every connection", func(c *Config) { c.MaxConnections, c.ReservedConnections = 32, 32 }, "reserved_connections 32: must be below max_connections 32"},
		{"negative watch limit", func(c *Config) { c.MaxWatchesPerCaller = -1 }, "max_watches_per_caller -1 is negative"},
		{"negative unauthenticated", func(c *Config) { c.MaxUnauthenticatedPerAddress = -1 }, "max_unauthenticated_per_address -1"},
		{"no handshake time", func(c *Config) { c.HandshakeTimeout.Duration = 0 }, "handshake_timeout 0s: must be positive"},
		{"kept retention", func(c *Config) { c.Kept = Kept{KeepFor: Duration{720 * time.Hour}, KeepLast: 3} }, ""},
		{"negative keep_for", func(c *Config) { c.Kept.KeepFor.Duration = -time.Hour }, "kept.keep_for -1h0m0s is negative"},
		{"negative keep_last", func(c *Config) { c.Kept.KeepLast = -1 }, "kept.keep_last -1 is negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			tc.edit(&c)
			err := c.Validate()
			if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("Validate() = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestKeptKeys: [kept] loads, and a typo there is named with the key it
// means.
func TestKeptKeys(t *testing.T) {
	p := t.TempDir() + "/c.toml"
	os.WriteFile(p, []byte("[kept]\nkeep_for = \"720h\"\nkeep_last = 5\n"), 0o644)
	c, err := Load(p)
	if err != nil || c.Kept.KeepFor.Duration != 720*time.Hour || c.Kept.KeepLast != 5 {
		t.Errorf("Load [kept]: %+v, %v", c.Kept, err)
	}
	os.WriteFile(p, []byte("[kept]\nkeep_fro = \"720h\"\n"), 0o644)
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), "unknown key kept.keep_fro; did you mean kept.keep_for?") {
		t.Errorf("Load with a typo in [kept]: %v", err)
	}
}

func TestUnknownKeyIsAnError(t *testing.T) {
	p := t.TempDir() + "/c.toml"
	os.WriteFile(p, []byte("platform = \"solaris\"\n[commands]\nzsf = \"/usr/sbin/zfs\"\n"), 0o644)
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), "commands.zsf") {
		t.Errorf("Load with a typo: %v", err)
	}
}
