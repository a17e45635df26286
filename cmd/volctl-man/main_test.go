package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/volctl/volctl/daemon"
	"github.com/volctl/volctl/daemon/config"
)

const configDoc = "../../docs/volctld.toml"

// TestWrite: make man's pages, in their sections, each titled by its own
// name: volctl.1 and one page per subcommand (with its flags and
// examples), volctld.8 and volctld.toml.5, dated by SOURCE_DATE_EPOCH.
func TestWrite(t *testing.T) {
	dir := t.TempDir()
	if err := write(dir, configDoc, "1796184000"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ page, want string }{
		{"man1/volctl.1", `.TH "VOLCTL" "1" "Dec 2026"`},
		{"man1/volctl.1", `volctl-rollback(1)`},
		{"man1/volctl.1", `\fBvolctld(8)\fP, \fBvolctld.toml(5)\fP`},
		{"man1/volctl.1", `--scripted`},
		{"man1/volctl-rollback.1", `.TH "VOLCTL-ROLLBACK" "1"`},
		{"man1/volctl-rollback.1", `--dry-run`},
		{"man1/volctl-rollback.1", `volctl rollback POOL/VOL@SNAP`},
		{"man1/volctl-rollback.1", "\n.SH EXAMPLES\n"},
		{"man1/volctl-destroy-snapshot.1", "\n.SH EXAMPLES\n"},
		{"man1/volctl-rescue.1", `\fB--finish\fP`},
		{"man1/volctl-rescue.1", `\fB--abandon\fP`},
		{"man1/volctl-rescue.1", `With --shell the rescue stops after the import`},
		{"man1/volctl-op-show.1", `.TH "VOLCTL-OP-SHOW" "1"`},
		{"man1/volctl-op-show.1", `every step and every command`},
		{"man1/volctl-version.1", `journal schema`},
		{"man1/volctl-completion-bash.1", `plain bash`},
		{"man8/volctld.8", `.TH "VOLCTLD" "8" "Dec 2026"`},
		{"man8/volctld.8", "\n.SH EXAMPLES\n"},
		{"man8/volctld.8", "\n.SH OPTIONS\n"},
		{"man5/volctld.toml.5", `.TH "VOLCTLD.TOML" "5" "Dec 2026"`},
		{"man5/volctld.toml.5", "\n.SH EXAMPLES\n"},
		{"man5/volctld.toml.5", `\fBretry_delay\fR = "1s"`},
		{"man5/volctld.toml.5", `.SS [[peers]]`},
	} {
		b, err := os.ReadFile(filepath.Join(dir, tc.page))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), tc.want) {
			t.Errorf("%s does not have %q:\n%s", tc.page, tc.want, b)
		}
	}
	for _, page := range []string{"volctl-__complete.1", "man1/volctl-__complete.1"} {
		if _, err := os.Stat(filepath.Join(dir, page)); err == nil {
			t.Errorf("a page for the hidden __complete command")
		}
	}
	if pages, _ := filepath.Glob(filepath.Join(dir, "*.1")); len(pages) > 0 {
		t.Errorf("pages outside their section's directory: %v", pages)
	}
	// groff, where it is installed, finds nothing wrong in any page.
	groff, err := exec.LookPath("groff")
	if err != nil {
		t.Log("no groff: pages not checked with it")
		return
	}
	pages, _ := filepath.Glob(filepath.Join(dir, "man*", "*"))
	for _, p := range pages {
		out, err := exec.Command(groff, "-man", "-ww", "-z", p).CombinedOutput()
		if err != nil || len(out) > 0 {
			t.Errorf("groff -man -ww %s: %v\n%s", filepath.Base(p), err, out)
		}
	}
}

func TestWriteBadEpoch(t *testing.T) {
	if err := write(t.TempDir(), configDoc, "yesterday"); err == nil || !strings.Contains(err.Error(), "SOURCE_DATE_EPOCH") {
		t.Errorf("write with a bad SOURCE_DATE_EPOCH: %v", err)
	}
}

// TestConfigPageKeys fails when a configuration key (daemon/config's
// Config, by its toml tags) is missing from volctld.toml(5), or its table.
func TestConfigPageKeys(t *testing.T) {
	doc, err := os.ReadFile(configDoc)
	if err != nil {
		t.Fatal(err)
	}
	page, err := configPage(string(doc), time.Unix(0, 0), "test")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range configKeys(reflect.TypeOf(config.Config{}), "") {
		var want []string
		switch {
		case k.table:
			want = []string{".SS " + esc("["+k.name+"]")}
		default:
			// A key with its default, or in the commented [[peers]] example.
			want = []string{bold(k.leaf) + " = ", esc(k.leaf + " = ")}
		}
		found := false
		for _, w := range want {
			found = found || strings.Contains(page, w)
		}
		if !found {
			t.Errorf("volctld.toml(5) lacks %s (%q)", k.name, want[0])
		}
	}
}

// TestConfigPageDropsNoKey: a key taken out of the documented file is out
// of the page (the page is made from it), so TestConfigPageKeys would fail.
func TestConfigPageDropsNoKey(t *testing.T) {
	doc, err := os.ReadFile(configDoc)
	if err != nil {
		t.Fatal(err)
	}
	cut := regexp.MustCompile(`(?m)^handshake_timeout = .*\n`).ReplaceAllString(string(doc), "")
	page, err := configPage(cut, time.Unix(0, 0), "test")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(page, bold("handshake_timeout")+" = ") {
		t.Error("the page has a key the documented file does not")
	}
}

type configKey struct {
	name, leaf string
	table      bool
}

// configKeys walks Config's toml tags: tables ([commands], the map
// [timeouts.command], the array [[peers]]) and their keys.
func configKeys(typ reflect.Type, table string) []configKey {
	var out []configKey
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		key := strings.Split(f.Tag.Get("toml"), ",")[0]
		if key == "" || key == "-" {
			continue
		}
		full := strings.TrimPrefix(table+"."+key, ".")
		switch {
		case f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(config.Duration{}):
			out = append(out, configKey{name: full, table: true})
			out = append(out, configKeys(f.Type, full)...)
		case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct:
			out = append(out, configKey{name: "[" + full + "]", table: true})
			out = append(out, configKeys(f.Type.Elem(), full)...)
		case f.Type.Kind() == reflect.Map:
			out = append(out, configKey{name: full, table: true})
		default:
			out = append(out, configKey{name: full, leaf: key})
		}
	}
	return out
}

// TestConfigExamples: each example file of volctld.toml(5) is one volctld
// reads (keys exact, values valid).
func TestConfigExamples(t *testing.T) {
	var blocks [][]string
	var cur []string
	for _, l := range strings.Split(configExample, "\n") {
		if strings.HasPrefix(l, "    ") {
			cur = append(cur, strings.TrimPrefix(l, "    "))
			continue
		}
		if len(cur) > 0 {
			blocks = append(blocks, cur)
			cur = nil
		}
	}
	n := 0
	for _, b := range blocks {
		if strings.HasPrefix(b[0], "volctld ") {
			continue
		}
		n++
		p := filepath.Join(t.TempDir(), "volctld.toml")
		if err := os.WriteFile(p, []byte(strings.Join(b, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := config.Decode(p)
		if err == nil {
			err = c.Validate()
		}
		if err != nil {
			t.Errorf("example %d: %v\n%s", n, err, strings.Join(b, "\n"))
		}
	}
	if n != 3 {
		t.Errorf("%d example files, want 3", n)
	}
}

// flagLine is a flag in the flag package's usage.
var flagLine = regexp.MustCompile(`(?m)^  -([a-z-]+)`)

// TestDaemonFlags: volctld(8) describes exactly volctld's flags.
func TestDaemonFlags(t *testing.T) {
	var usage bytes.Buffer
	daemon.Main([]string{"-h"}, io.Discard, &usage)
	var have []string
	for _, m := range flagLine.FindAllStringSubmatch(usage.String(), -1) {
		have = append(have, m[1])
	}
	if len(have) < 5 {
		t.Fatalf("read %d flags from volctld -h:\n%s", len(have), usage.String())
	}
	var documented []string
	for _, f := range daemonFlags {
		documented = append(documented, f.name)
	}
	page := daemonPage(time.Unix(0, 0), "test")
	for _, f := range have {
		if !strings.Contains(page, ".TP\n"+bold("-"+f)) {
			t.Errorf("volctld(8) does not describe -%s", f)
		}
	}
	for _, f := range documented {
		found := false
		for _, h := range have {
			found = found || h == f
		}
		if !found {
			t.Errorf("volctld(8) describes -%s, which volctld does not have", f)
		}
	}
}
