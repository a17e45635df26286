package cli

import (
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	v1 "github.com/volctl/volctl/proto/volctl/v1"
)

// The formatters more than one noun prints with, in one place so that the
// same value looks the same in every command, and -H, -p and --utc change
// every command the same way.

// timeLayout is the one way volctl prints a time: local (or UTC with
// --utc), to the second, with the zone's name so that a time copied out of
// a terminal still says which zone it was in.
const timeLayout = "2006-01-02 15:04:05 MST"

// fmtTime is a time as every command prints it: timeLayout in the local
// zone, or UTC with --utc; with -p, Unix seconds. A missing time is "-".
func (a *app) fmtTime(t time.Time) string {
	if t.IsZero() || t.Unix() == 0 {
		return "-"
	}
	if a.parsable {
		return strconv.FormatInt(t.Unix(), 10)
	}
	return a.inZone(t).Format(timeLayout)
}

// fmtClock is the time of day with milliseconds, for the commands listed
// under a step in op show (the step's operation gives the date and zone);
// with -p, Unix seconds like fmtTime.
func (a *app) fmtClock(t time.Time) string {
	if a.parsable {
		return a.fmtTime(t)
	}
	return a.inZone(t).Format("15:04:05.000")
}

func (a *app) inZone(t time.Time) time.Time {
	if a.utc {
		return t.UTC()
	}
	return t.Local()
}

// fmtDuration is a duration rounded to round for the eye ("1.234s"); with
// -p, whole milliseconds ("1234").
func (a *app) fmtDuration(d, round time.Duration) string {
	if a.parsable {
		return strconv.FormatInt(d.Milliseconds(), 10)
	}
	return d.Round(round).String()
}

// fmtSize is a size in binary units as zfs prints them ("1.5G"); with -p,
// bytes.
func (a *app) fmtSize(n uint64) string {
	if a.parsable {
		return strconv.FormatUint(n, 10)
	}
	return bytesStr(n)
}

// table prints rows aligned under a header, or with -H (scripted mode, as
// zfs -H) without the header and with every field after a single tab.
type table struct {
	a  *app
	tw *tabwriter.Writer
}

func (a *app) newTable(header ...string) *table {
	t := &table{a: a}
	if !a.scripted {
		t.tw = tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
		t.row(header...)
	}
	return t
}

// row prints one line; an empty field is "-" so that each line keeps one
// field per column.
func (t *table) row(fields ...string) {
	for i, f := range fields {
		fields[i] = dash(f)
	}
	line := strings.Join(fields, "\t") + "\n"
	if t.tw != nil {
		fmt.Fprint(t.tw, line)
		return
	}
	fmt.Fprint(t.a.stdout, line)
}

func (t *table) flush() error {
	if t.tw != nil {
		return t.tw.Flush()
	}
	return nil
}

// stepWord is a step state as the user reads it: "running", "done", ...
// (the enum name without its prefix, in lower case).
func stepWord(s v1.StepState) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "STEP_STATE_"))
}

// opWord is an operation state as the user reads it, like stepWord.
func opWord(s v1.OperationState) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "OPERATION_STATE_"))
}

// dash stands in for an empty field, so that a table keeps one word per
// column for the eye and for awk.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// bytesStr is a size in binary units, as zfs prints them.
func bytesStr(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%dB", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	v := float64(n) / float64(div)
	s := fmt.Sprintf("%.1f", v)
	s = strings.TrimSuffix(s, ".0")
	return s + string("KMGTPE"[exp])
}

// printCapabilities prints the host's probed capabilities, one aligned line
// each: volctl status shows the current set, op show the set an operation
// was planned with.
func (a *app) printCapabilities(indent string, cs []*v1.Capability) {
	for _, c := range cs {
		word := "no "
		if c.GetSupported() {
			word = "yes"
		}
		a.printf("%s%-30s %s  %s\n", indent, c.GetName(), word, c.GetDetail())
	}
}

// onHost is "[HOST] " for a command a peer (zone host) ran, "" for one
// the daemon's own host ran.
func onHost(host string) string {
	if host == "" {
		return ""
	}
	return "[" + host + "] "
}
