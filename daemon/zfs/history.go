package zfs

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/volctl/volctl/daemon/execx"
)

// Pool runs the zpool command. Only `zpool history` is used: it is the one
// record of a zfs rollback that every platform keeps and that no initiator
// can change (docs/platform/zfs.md §7: the zfs command logs its command line
// only when it succeeded).
type Pool struct {
	Path string
	Run  execx.RunFunc
}

// HistoryRecord is one line of `zpool history`.
type HistoryRecord struct {
	Pool string
	Time string // YYYY-MM-DD.HH:MM:SS, the host's local time, as printed
	Cmd  string
}

// historyLine is "%F.%T <command line>" (illumos zpool_main.c
// get_history_one: strftime(tbuf, sizeof (tbuf), "%F.%T", ...) then
// printf("%s %s\n", tbuf, cmdstr)).
var historyLine = regexp.MustCompile(`^(\d{4}-\d{2}-\d{2}\.\d{2}:\d{2}:\d{2}) (.*)$`)

// ParseHistory parses `zpool history [POOL]`: a "History for 'POOL':" line
// opens each pool's records; blank lines separate pools. A record before any
// header, or a line that is neither, is an error: a history that cannot be
// read whole must not be read as "no rollback happened". Output cut at the
// output cap is an error for the same reason.
func ParseHistory(out []byte) ([]HistoryRecord, error) {
	if execx.Truncated(out) {
		return nil, fmt.Errorf("zpool history: output truncated at the output cap (max_output): not read as complete")
	}
	var recs []HistoryRecord
	pool := ""
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 64*1024), len(out)+1)
	for n := 1; sc.Scan(); n++ {
		l := strings.TrimSuffix(sc.Text(), "\r")
		if strings.TrimSpace(l) == "" {
			continue
		}
		if p, ok := strings.CutPrefix(l, "History for '"); ok {
			p, ok = strings.CutSuffix(p, "':")
			if !ok || p == "" {
				return nil, fmt.Errorf("zpool history line %d: bad header %q", n, l)
			}
			pool = p
			continue
		}
		m := historyLine.FindStringSubmatch(l)
		if m == nil || pool == "" {
			return nil, fmt.Errorf("zpool history line %d: not a record: %q", n, l)
		}
		recs = append(recs, HistoryRecord{Pool: pool, Time: m[1], Cmd: m[2]})
	}
	return recs, nil
}

// IsRollbackTo reports whether a history record is a zfs rollback to
// snapshot, with any of its options (-r, -R, -f, combined or not). The
// command's name is compared by its base name: illumos logs "zfs", newer
// code the base name of argv[0].
func IsRollbackTo(rec HistoryRecord, snapshot string) bool {
	f := strings.Fields(rec.Cmd)
	if len(f) < 3 || path.Base(f[0]) != "zfs" || f[1] != "rollback" {
		return false
	}
	for _, a := range f[2 : len(f)-1] {
		if !strings.HasPrefix(a, "-") || strings.Trim(a[1:], "rRf") != "" {
			return false
		}
	}
	return f[len(f)-1] == snapshot
}

// PoolOf is the pool a dataset or snapshot name is in.
func PoolOf(name string) string {
	pool, _, _ := strings.Cut(name, "/")
	pool, _, _ = strings.Cut(pool, "@")
	return pool
}

// HistoryArgv is `zpool history POOL`.
func (p Pool) HistoryArgv(pool string) []string { return []string{p.Path, "history", pool} }

// Rollbacks counts the records of `zfs rollback ... snapshot` in the pool's
// history. Counting (rather than comparing times) needs no clock or time
// zone agreement with the host, and two rollbacks in one second still count
// twice.
func (p Pool) Rollbacks(ctx context.Context, snapshot string) (int, error) {
	pool := PoolOf(snapshot)
	res, err := p.Run(ctx, p.HistoryArgv(pool))
	if err != nil {
		return 0, err
	}
	recs, err := ParseHistory(res.Stdout)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range recs {
		if r.Pool == pool && IsRollbackTo(r, snapshot) {
			n++
		}
	}
	return n, nil
}
