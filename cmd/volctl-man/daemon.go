package main

import (
	"time"
)

// volctld(8), written here: volctld parses its flags with the flag
// package, not cobra. daemonFlags must name every flag volctld has, and no
// other (TestDaemonFlags compares them with volctld -h).

type daemonFlag struct {
	name, arg, text string
}

var daemonFlags = []daemonFlag{
	{"config", "FILE", "Read the configuration from FILE (TOML, volctld.toml(5)). Without it volctld runs on the defaults that page lists."},
	{"socket", "PATH", "Listen on the unix socket PATH instead of the configuration's socket."},
	{"db", "FILE", "Use the journal FILE instead of the configuration's db."},
	{"log-level", "LEVEL", "Log at LEVEL: trace, debug, info (the default), warn or error. Logs go to stderr."},
	{"log-json", "", "Log as JSON, one object a line."},
	{"check-config", "", "Check the configuration and this host as a start would (keys, values, command paths and owners, the socket's and the journal's directories), without opening the journal or listening; print \"configuration ok\" and exit 0, or each problem on its own line to stderr and exit 1."},
	{"new-journal", "", "Take an empty (0-byte) journal file as a new journal. volctld otherwise refuses an empty file, which may be a journal truncated by accident; a journal with data in it is never overwritten."},
	{"version", "", "Print the version and exit."},
}

const daemonDescription = `volctld is the daemon behind volctl(1). It rolls a ZFS volume exported over
iSCSI back to a snapshot as one journaled transaction: on Oracle Solaris 11.4
and illumos (COMSTAR) the LU is deleted keeping its views, the volume rolled
back, the LU imported again with the same GUID and properties, its views added
back, everything verified, and the kernel zones on the volume re-attached with
fresh host data and booted if they ran. On Linux it does the same with the tgt
iSCSI target.

Every step is journaled (bbolt, the db key) before and after it runs. A
failure before the rollback took effect undoes the steps done, in reverse; one
after it is retried and then left as needing attention, for volctl recover.
After a crash or a restart volctld resumes or compensates the operations it
finds in the journal before it accepts new ones, and first kills the commands
an earlier volctld left running.

volctld serves its gRPC API on a unix socket, and optionally over TCP with
mutual TLS 1.3 only. Who may do what is decided by the roles of
volctld.toml(5) from the caller's uid and groups (the kernel reports them) or
its certificate's subject: viewer, operator, and peer (the zone service other
volctld call on a zone host).`

const daemonSignals = `SIGINT, SIGTERM: stop. volctld stops serving, lets each running operation
reach its next step boundary, waits for it, and exits; an operation stopped
there resumes at the next start. Under systemd (Type=notify) volctld sends
READY=1 once it serves and STOPPING=1 when it stops.`

const daemonExit = `0: stopped by a signal, or -version, or -check-config found nothing wrong.
1: a start that failed or a server that stopped on an error (logged), or the problems -check-config found.
2: a command line or a configuration that volctld refuses (each problem logged).`

const daemonExamples = `Check the configuration, then run volctld in the foreground with debug logs:

    volctld -config /etc/volctl/volctld.toml -check-config
    volctld -config /etc/volctl/volctld.toml -log-level debug

As a service: systemctl enable --now volctld (Linux; the unit make install
puts in /lib/systemd/system), or svcadm enable volctld after svccfg import of
/lib/svc/manifest/system/volctld.xml (Solaris, illumos).`

const daemonFiles = `/etc/volctl/volctld.toml
the configuration, volctld.toml(5)
/var/run/volctld/volctld.sock
the API's unix socket (socket)
/var/lib/volctl/journal.db
the journal: operations, steps, every command with its output, the audit trail (db)
/var/lib/volctl/journal.db.commands/
the commands running now, so that a restarted volctld can kill what a dead one left`

// daemonPage is volctld(8).
func daemonPage(date time.Time, source string) string {
	r := &roff{}
	r.th("volctld", "8", date, source, "volctl manual")
	r.req(".SH NAME")
	r.text("volctld - roll back ZFS volumes exported over iSCSI, as one journaled transaction")
	r.req(".SH SYNOPSIS")
	r.req(bold("volctld") + " [" + bold("-config") + " \\fIFILE\\fR] [" + bold("-socket") + " \\fIPATH\\fR] [" + bold("-db") + " \\fIFILE\\fR] [" +
		bold("-log-level") + " \\fILEVEL\\fR] [" + bold("-log-json") + "] [" + bold("-new-journal") + "]")
	r.req(".br")
	r.req(bold("volctld") + " [" + bold("-config") + " \\fIFILE\\fR] " + bold("-check-config"))
	r.req(".br")
	r.req(bold("volctld") + " " + bold("-version"))
	r.req(".SH DESCRIPTION")
	examples(r, daemonDescription)
	r.req(".SH OPTIONS")
	for _, f := range daemonFlags {
		r.req(".TP")
		tag := bold("-" + f.name)
		if f.arg != "" {
			tag += " \\fI" + esc(f.arg) + "\\fR"
		}
		r.req(tag)
		r.text(f.text)
	}
	r.req(".SH SIGNALS")
	examples(r, daemonSignals)
	r.req(".SH EXIT STATUS")
	for _, l := range splitLines(daemonExit) {
		r.req(".TP")
		code, text, _ := cutColon(l)
		r.req(bold(code))
		r.text(text)
	}
	r.req(".SH FILES")
	lines := splitLines(daemonFiles)
	for i := 0; i+1 < len(lines); i += 2 {
		r.req(".TP")
		r.req(bold(lines[i]))
		r.text(lines[i+1])
	}
	r.req(".SH EXAMPLES")
	examples(r, daemonExamples)
	r.req(".SH SEE ALSO")
	r.req(`\fBvolctl\fR(1), \fBvolctld.toml\fR(5), \fBstmfadm\fR(8), \fBzfs\fR(8), \fBzoneadm\fR(8), \fBtgtadm\fR(8)`)
	return r.String()
}
