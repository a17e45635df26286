package main

import (
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const repo = "../.."

// TestSystemdUnit checks contrib/systemd/volctld.service with
// systemd-analyze verify, pointing ExecStart at a freshly built volctld.
func TestSystemdUnit(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("SKIP (loud): systemd-analyze is not installed; the unit was not checked")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "volctld")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	unit, err := os.ReadFile(filepath.Join(repo, "contrib/systemd/volctld.service"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(unit), "ExecStart=/usr/sbin/volctld -config /etc/volctl/volctld.toml") {
		t.Error("ExecStart does not run /usr/sbin/volctld with /etc/volctl/volctld.toml")
	}
	for _, want := range []string{"KillSignal=SIGTERM", "TimeoutStopSec=", "WantedBy=multi-user.target",
		"Type=notify", "NotifyAccess=main", "ProtectSystem=strict"} {
		if !strings.Contains(string(unit), want) {
			t.Errorf("unit lacks %s", want)
		}
	}
	test := strings.Replace(string(unit), "/usr/sbin/volctld", bin, 1)
	path := filepath.Join(dir, "volctld.service")
	if err := os.WriteFile(path, []byte(test), 0o644); err != nil {
		t.Fatal(err)
	}
	// --man=no: Documentation='s man page is installed with volctl, not
	// on the machine that runs the tests.
	out, err := exec.Command(sa, "verify", "--man=no", path).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "" {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestSMFManifest checks contrib/smf/volctld.xml: well-formed XML (and valid
// against the SMF DTD where xmllint and the DTD exist), the service's
// dependencies, its start and stop methods.
func TestSMFManifest(t *testing.T) {
	path := filepath.Join(repo, "contrib/smf/volctld.xml")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	type propval struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	}
	var m struct {
		XMLName xml.Name `xml:"service_bundle"`
		Type    string   `xml:"type,attr"`
		Service struct {
			Name string `xml:"name,attr"`
			Deps []struct {
				Name string `xml:"name,attr"`
				FMRI struct {
					Value string `xml:"value,attr"`
				} `xml:"service_fmri"`
			} `xml:"dependency"`
			Methods []struct {
				Name    string `xml:"name,attr"`
				Exec    string `xml:"exec,attr"`
				Timeout string `xml:"timeout_seconds,attr"`
			} `xml:"exec_method"`
			Groups []struct {
				Name  string    `xml:"name,attr"`
				Props []propval `xml:"propval"`
			} `xml:"property_group"`
		} `xml:"service"`
	}
	if err := xml.Unmarshal(b, &m); err != nil {
		t.Fatalf("not well-formed: %v", err)
	}
	if m.Type != "manifest" || m.Service.Name != "system/volctld" {
		t.Errorf("bundle type %q service %q", m.Type, m.Service.Name)
	}
	deps := map[string]bool{}
	for _, d := range m.Service.Deps {
		deps[d.FMRI.Value] = true
	}
	for _, want := range []string{"svc:/system/filesystem/local:default", "svc:/system/stmf:default"} {
		if !deps[want] {
			t.Errorf("no dependency on %s", want)
		}
	}
	methods := map[string][2]string{}
	for _, me := range m.Service.Methods {
		methods[me.Name] = [2]string{me.Exec, me.Timeout}
	}
	if !strings.HasPrefix(methods["start"][0], "/usr/sbin/volctld -config ") {
		t.Errorf("start method %q", methods["start"][0])
	}
	if methods["stop"][0] != ":kill -TERM" {
		t.Errorf("stop method %q: SIGTERM lets the running step finish", methods["stop"][0])
	}
	if n, _ := strconv.Atoi(methods["stop"][1]); n < 300 {
		t.Errorf("stop timeout %s s is too short for a step to finish", methods["stop"][1])
	}
	var child, cfg bool
	for _, g := range m.Service.Groups {
		for _, p := range g.Props {
			child = child || (g.Name == "startd" && p.Name == "duration" && p.Value == "child")
			cfg = cfg || (g.Name == "config" && p.Name == "file" && p.Value == "/etc/volctl/volctld.toml")
		}
	}
	if !child || !cfg {
		t.Errorf("startd/duration=child %v, config/file %v", child, cfg)
	}
	xl, err := exec.LookPath("xmllint")
	if err != nil {
		t.Log("xmllint is not installed: checked with encoding/xml only")
		return
	}
	args := []string{"--noout", "--nonet"}
	if _, err := os.Stat("/usr/share/lib/xml/dtd/service_bundle.dtd.1"); err == nil {
		args = append(args, "--valid") // on Solaris and illumos
	}
	if out, err := exec.Command(xl, append(args, path)...).CombinedOutput(); err != nil {
		t.Errorf("xmllint %v: %v\n%s", args, err, out)
	}
}

// TestMakeInstall runs make install into a temp DESTDIR.
func TestMakeInstall(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("SKIP (loud): make is not installed")
	}
	dest := t.TempDir()
	run := func() {
		cmd := exec.Command("make", "-C", repo, "install", "DESTDIR="+dest, "BIN="+filepath.Join(dest, "build"))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("make install: %v\n%s", err, out)
		}
	}
	run()
	for path, mode := range map[string]os.FileMode{
		"usr/sbin/volctld":                    0o755,
		"usr/bin/volctl":                      0o755,
		"etc/volctl/volctld.toml":             0o640,
		"lib/systemd/system/volctld.service":  0o644,
		"lib/svc/manifest/system/volctld.xml": 0o644,
		// make man's pages, each in its section.
		"usr/share/man/man1/volctl.1":          0o644,
		"usr/share/man/man1/volctl-rollback.1": 0o644,
		"usr/share/man/man5/volctld.toml.5":    0o644,
		"usr/share/man/man8/volctld.8":         0o644,
	} {
		fi, err := os.Stat(filepath.Join(dest, path))
		if err != nil {
			t.Errorf("%s not installed: %v", path, err)
			continue
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("%s mode %v, want %v", path, fi.Mode().Perm(), mode)
		}
	}
	// An admin's configuration is never overwritten.
	cfg := filepath.Join(dest, "etc/volctl/volctld.toml")
	if err := os.WriteFile(cfg, []byte("platform = \"linux-tgt\"\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	run()
	if b, _ := os.ReadFile(cfg); string(b) != "platform = \"linux-tgt\"\n" {
		t.Error("make install overwrote the configuration")
	}
	out, err := exec.Command(filepath.Join(dest, "usr/sbin/volctld"), "-version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "volctld ") {
		t.Errorf("installed volctld -version: %v %s", err, out)
	}
}
