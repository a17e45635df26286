package zvol

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/daemon/zfs"
)

// reply is what a command answers: its stdout, or a failure with stderr.
type reply struct {
	out, stderr string
	exit        int
}

// host answers exactly the commands a case expects, by their whole argv,
// and records the order they ran in: the argv and the order are part of
// what these functions promise (journals, plans, the simulator).
type host struct {
	t       *testing.T
	replies map[string]reply
	ran     []string
}

func newHost(t *testing.T, replies map[string]reply) *host {
	return &host{t: t, replies: replies}
}

func (h *host) run(_ context.Context, argv []string) (*execx.Result, error) {
	key := strings.Join(argv, " ")
	h.ran = append(h.ran, key)
	r, ok := h.replies[key]
	if !ok {
		h.t.Errorf("unexpected command %q", key)
		r = reply{stderr: "unexpected command", exit: 99}
	}
	res := &execx.Result{Argv: argv, Exit: r.exit, Stdout: []byte(r.out), Stderr: []byte(r.stderr)}
	if r.exit != 0 {
		return res, &execx.Error{R: res}
	}
	return res, nil
}

func (h *host) zfs(noListP bool) zfs.Cmd { return zfs.Cmd{Path: "zfs", Run: h.run, NoListP: noListP} }
func (h *host) zpool() zfs.Pool          { return zfs.Pool{Path: "zpool", Run: h.run} }

// The commands, as the zfs adapter builds them.
const (
	listVol   = "zfs list -H -p -o name,type,creation,used,referenced,volsize -t filesystem,volume "
	listSnaps = "zfs list -H -p -o name,type,creation,used,referenced -t snapshot -d 1 "
	getInfos  = "-o name,property,value,source type,creation,used,referenced,volsize,mountpoint,createtxg,userrefs "
	getTree   = "zfs get -H -p -r " + getInfos
	getSnaps  = "zfs get -H -p -d 1 " + getInfos
	getProp   = "zfs get -H -p -o name,property,value,source "
)

var notExist = reply{stderr: "cannot open 'pool/nope': dataset does not exist\n", exit: 1}

// snapRow is a row of the snapshot listing (list -p): creation n, used u.
func snapRow(name string, n int, used uint64) string {
	return fmt.Sprintf("%s\tsnapshot\t%d\t%d\t4096\n", name, 1700000000+n, used)
}

// infoRows are the zfs get rows of one dataset or snapshot, as Infos reads
// them.
func infoRows(name, typ string, txg int, used uint64) string {
	var b strings.Builder
	for _, p := range [][2]string{{"type", typ}, {"creation", fmt.Sprint(1700000000 + txg)}, {"used", fmt.Sprint(used)},
		{"referenced", "4096"}, {"volsize", "-"}, {"mountpoint", "-"}, {"createtxg", fmt.Sprint(txg)}, {"userrefs", "-"}} {
		fmt.Fprintf(&b, "%s\t%s\t%s\t-\n", name, p[0], p[1])
	}
	return b.String()
}

func getRow(name, prop, value string) string { return name + "\t" + prop + "\t" + value + "\tlocal\n" }

// fsSnaps is `zfs get -d 1` of the filesystem pool/vol with the given
// snapshot rows.
func fsSnaps(rows ...string) reply {
	return reply{out: infoRows("pool/vol", "filesystem", 1, 0) + strings.Join(rows, "")}
}
