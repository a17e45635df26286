package main

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// volctld.toml(5) is made from docs/volctld.toml, the documented default
// configuration: every key with its default and the comment above it. That
// file is the one source of truth (daemon/config's tests parse it: it is
// valid, says exactly Default(), and has every key), so the page cannot
// drift from the daemon either.

// confItem is a comment of the documented file with the key lines that
// follow it (none: a paragraph), in table ("" for the top level).
type confItem struct {
	table   string
	header  bool // the comment describes the table itself ([table] follows it)
	comment []string
	keys    []string
}

// parseConfigDoc splits the documented file into its opening comment and
// its items, in order.
func parseConfigDoc(src string) (intro []string, items []confItem) {
	var pending []string
	table := ""
	started := false // past the opening comment
	inKeys := false  // the last line was a key
	flush := func() {
		if len(pending) == 0 {
			return
		}
		if !started {
			intro, started = pending, true
		} else {
			items = append(items, confItem{table: table, comment: pending})
		}
		pending = nil
	}
	for _, line := range strings.Split(src, "\n") {
		t := strings.TrimSpace(line)
		switch {
		case t == "":
			flush()
			inKeys = false
		case strings.HasPrefix(t, "#"):
			c := strings.TrimPrefix(strings.TrimPrefix(t, "#"), " ")
			pending = append(pending, c)
			inKeys = false
		case strings.HasPrefix(t, "["):
			started = true
			table = strings.Trim(t, "[]")
			it := confItem{table: table, header: true, comment: pending}
			// A paragraph that ends just before the table is its
			// description.
			if len(pending) == 0 && len(items) > 0 && items[len(items)-1].keys == nil && !items[len(items)-1].header {
				it.comment = items[len(items)-1].comment
				items = items[:len(items)-1]
			}
			items = append(items, it)
			pending, inKeys = nil, false
		default:
			started = true
			if !inKeys || len(pending) > 0 {
				items = append(items, confItem{table: table, comment: pending})
				pending = nil
			}
			items[len(items)-1].keys = append(items[len(items)-1].keys, t)
			inKeys = true
		}
	}
	flush()
	return intro, items
}

// arrayTable is a commented array of tables' first line.
var arrayTable = regexp.MustCompile(`^\[\[[a-z_.]+\]\]`)

// codeLine is a comment line that is TOML rather than prose (the commented
// [[peers]] example).
var codeLine = regexp.MustCompile(`^(\[\[?[a-z_.]+\]\]?|[a-z_]+ = |\s{8,}#)`)

// prose writes comment lines: text filled into paragraphs ("#" alone
// breaks one), TOML lines as an example.
func prose(r *roff, lines []string) {
	blocks(r, lines, func(l string) (string, bool) { return l, codeLine.MatchString(l) })
}

// blocks writes lines as paragraphs ("" breaks one) and code blocks: a
// line code says is code goes, as it returns it, into the block.
func blocks(r *roff, lines []string, code func(string) (string, bool)) {
	var block []string
	for _, l := range lines {
		if c, ok := code(l); ok {
			block = append(block, c)
			continue
		}
		if len(block) > 0 {
			r.code(block)
			block = nil
		}
		if l == "" {
			r.req(".PP")
			continue
		}
		r.text(l)
	}
	if len(block) > 0 {
		r.code(block)
	}
}

// configExample is the page's EXAMPLES: a storage host with a zone host,
// and that zone host.
const configExample = `A storage host that lets group storage-admins roll back, asks the zone
host kz-host1 about the zones on its LUs, and serves metrics on loopback:

    platform = "solaris"
    socket_mode = "0660"
    socket_group = "storage-admins"
    initiators = ["iqn.1986-03.com.sun:01:storage1"]
    [roles]
    operator_groups = ["storage-admins"]
    viewer_uids = [1001]
    [metrics]
    listen = "127.0.0.1:9469"
    [[peers]]
    name = "kz-host1"
    address = "kz-host1.example:7443"
    ca = "/etc/volctl/peers-ca.pem"
    subject = "kz-host1"
    cert = "/etc/volctl/storage1.pem"
    key = "/etc/volctl/storage1.key"

The zone host kz-host1: its volctld serves the zone service over mutual TLS
to the storage host's certificate only:

    platform = "solaris"
    initiators = ["iqn.1986-03.com.sun:01:kz-host1"]
    [roles]
    peer_subjects = ["storage1"]
    [tcp]
    listen = "kz-host1.example:7443"
    cert = "/etc/volctl/kz-host1.pem"
    key = "/etc/volctl/kz-host1.key"
    client_ca = "/etc/volctl/peers-ca.pem"

A Linux host with tgt, and a longer deadline for zfs:

    platform = "linux-tgt"
    [timeouts.command]
    zfs = "5m"

Check a file before restarting volctld with it:

    volctld -config /etc/volctl/volctld.toml -check-config
`

// configPage is volctld.toml(5) from the documented file's text.
func configPage(doc string, date time.Time, source string) (string, error) {
	intro, items := parseConfigDoc(doc)
	if len(intro) == 0 || len(items) == 0 {
		return "", fmt.Errorf("the documented configuration has no opening comment or no keys")
	}
	r := &roff{}
	r.th("volctld.toml", "5", date, source, "volctl manual")
	r.req(".SH NAME")
	r.text("volctld.toml - volctld's configuration file")
	r.req(".SH SYNOPSIS")
	r.req(`\fB/etc/volctl/volctld.toml\fR`)
	r.req(".SH DESCRIPTION")
	r.text("volctld(8) reads its configuration from the TOML file given with -config. " +
		"Without one it uses the defaults shown below, which are also what a key left out of the file gets.")
	r.req(".PP")
	prose(r, intro)
	r.req(".SH KEYS")
	r.text("Each key is shown with its default.")
	for _, it := range items {
		if it.header {
			r.req(".SS " + esc("["+it.table+"]"))
			if len(it.comment) > 0 {
				r.req(".PP")
				prose(r, it.comment)
			}
			continue
		}
		if len(it.keys) == 0 {
			// A commented array of tables ([[peers]]) gets its heading.
			for _, l := range it.comment {
				if m := arrayTable.FindStringSubmatch(l); m != nil {
					r.req(".SS " + esc(m[0]))
					break
				}
			}
			r.req(".PP")
			prose(r, it.comment)
			continue
		}
		r.req(".PP")
		for i, k := range it.keys {
			name, value, _ := strings.Cut(k, "=")
			if i > 0 {
				r.req(".br")
			}
			r.req(bold(strings.TrimSpace(name)) + " = " + esc(strings.TrimSpace(value)))
		}
		if len(it.comment) > 0 {
			r.req(".RS 4")
			prose(r, it.comment)
			r.req(".RE")
		}
	}
	r.req(".SH EXAMPLES")
	examples(r, configExample)
	r.req(".SH FILES")
	r.req(".TP")
	r.req(bold("/etc/volctl/volctld.toml"))
	r.text("the configuration make install puts in place (this page's defaults, kept if the file exists)")
	r.req(".SH SEE ALSO")
	r.req(`\fBvolctld\fR(8), \fBvolctl\fR(1)`)
	return r.String(), nil
}

// examples writes text whose lines indented by four spaces are examples,
// the others prose.
func examples(r *roff, text string) {
	blocks(r, strings.Split(strings.TrimRight(text, "\n"), "\n"), func(l string) (string, bool) {
		return strings.TrimPrefix(l, "    "), strings.HasPrefix(l, "    ")
	})
}
