package cli

import (
	"fmt"
	"strings"
	"time"

	v1 "github.com/volctl/volctl/proto/volctl/v1"
)

// The formatters more than one noun prints with, in one place so that the
// same value looks the same in every command.

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

// fmtTime is a point in time as volctl prints it.
func (a *app) fmtTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }
