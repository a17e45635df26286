package sim

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Refusal is one line of ROOT/refused.log: a simulated command refused an
// option, property, type, subcommand or operand form (a usage error, "invalid
// option", "bad property list", "invalid type", zoneadm's "illegal option",
// stmfadm's cmdparse errors, a brand or feature the flavor lacks). Every
// refusal is logged, whatever the flavor and whether or not the host is in
// strict mode; the command's own output is the platform's either way.
type Refusal struct {
	Time   time.Time `json:"time"`
	Argv   []string  `json:"argv"`
	Flavor string    `json:"flavor"`
	Reason string    `json:"reason"`
	Strict bool      `json:"strict,omitempty"` // the host was in strict mode
}

func refusedPath(root string) string { return filepath.Join(root, "refused.log") }

// refuse records that this invocation refused something; runPlatform writes
// the records after the command. reason is the platform's message (or a
// description where it prints only usage).
func (e *env) refuse(reason string) {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		reason = "usage"
	}
	e.refusals = append(e.refusals, reason)
}

// writeRefusals appends one JSON line per refusal (single small O_APPEND
// writes, so lines stay whole across concurrent processes).
func writeRefusals(root string, argv []string, s *State, reasons []string) {
	if len(reasons) == 0 {
		return
	}
	f, err := os.OpenFile(refusedPath(root), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	for _, r := range reasons {
		b, err := json.Marshal(Refusal{Time: time.Now(), Argv: argv, Flavor: s.flavor(), Reason: r, Strict: s.Strict})
		if err != nil {
			continue
		}
		_, _ = f.Write(append(b, '\n'))
	}
}

// Refused returns the refusals logged so far (none if the log is absent).
func Refused(root string) ([]Refusal, error) {
	f, err := os.Open(refusedPath(root))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read refusal log: %w", err)
	}
	defer f.Close()
	var out []Refusal
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		var r Refusal
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("parse refusal log line %q: %w", sc.Text(), err)
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read refusal log: %w", err)
	}
	return out, nil
}

// ClearRefused empties the refusal log (e.g. after a daemon's start-up
// probes, which refuse on purpose).
func ClearRefused(root string) error {
	if err := os.Remove(refusedPath(root)); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("clear refusal log: %w", err)
	}
	return nil
}
