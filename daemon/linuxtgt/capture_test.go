package linuxtgt

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/daemon/tgt"
	"github.com/volctl/volctl/daemon/zfs"
	"github.com/volctl/volctl/store"
)

// showText prints targets as tgtadm --op show does (docs/platform/linux-tgt.md §3.2).
func showText(ts []tgt.Target) string {
	var b strings.Builder
	yn := map[bool]string{true: "Yes", false: "No"}
	for _, t := range ts {
		fmt.Fprintf(&b, "Target %d: %s\n    System information:\n        Driver: iscsi\n        State: ready\n    I_T nexus information:\n", t.TID, t.Name)
		for _, n := range t.Nexuses {
			fmt.Fprintf(&b, "        I_T nexus: %d\n            Initiator: %s alias: none\n", n.ID, n.Initiator)
		}
		b.WriteString("    LUN information:\n")
		for _, u := range t.LUNs {
			path, typ := u.BackingPath, u.BackingType
			if path == "" {
				path = "None"
			}
			if typ == "" {
				typ = "null"
			}
			fmt.Fprintf(&b, "        LUN: %d\n            Type: %s\n            SCSI ID: %s\n            SCSI SN: %s\n"+
				"            Size: 0 MB, Block size: %d\n            Online: %s\n            Removable media: %s\n"+
				"            Prevent removal: No\n            Readonly: %s\n            SWP: No\n            Thin-provisioning: %s\n"+
				"            Backing store type: %s\n            Backing store path: %s\n            Backing store flags: %s\n",
				u.LUN, u.Type, u.SCSIID, u.SCSISN, u.BlockSize, yn[u.Online], yn[u.Removable], yn[u.Readonly], yn[u.Thin],
				typ, path, u.BackingFlags)
		}
		b.WriteString("    Account information:\n    ACL information:\n")
		for _, r := range t.ACL {
			fmt.Fprintf(&b, "        %s\n", r.Rule)
		}
	}
	return b.String()
}

// infosText prints datasets as zfs get -H -p -o name,property,value,source
// of zfs.InfoProps does.
func infosText(ds []zfs.Info) string {
	var b strings.Builder
	dash := func(v string) string {
		if v == "" || v == "0" {
			return "-"
		}
		return v
	}
	for _, d := range ds {
		for _, kv := range [][2]string{{"type", d.Type}, {"creation", fmt.Sprint(d.Creation)}, {"used", fmt.Sprint(d.Used)},
			{"referenced", fmt.Sprint(d.Referenced)}, {"volsize", dash(fmt.Sprint(d.Volsize))}, {"mountpoint", dash(d.Mountpoint)},
			{"createtxg", fmt.Sprint(d.CreateTxg)}, {"userrefs", fmt.Sprint(d.Userrefs)}} {
			fmt.Fprintf(&b, "%s\t%s\t%s\t-\n", d.Name, kv[0], kv[1])
		}
	}
	return b.String()
}

// fakeHost answers Capture's commands from h: zfs get -r of the volume,
// zfs get written@, tgtadm show. The last two fail unless h says the
// exports were read. ran counts the commands.
func fakeHost(h *hostFacts, ran *[]string) execx.RunFunc {
	return func(_ context.Context, argv []string) (*execx.Result, error) {
		*ran = append(*ran, strings.Join(argv, " "))
		var out string
		switch {
		case argv[0] == "/usr/sbin/zfs" && slices.Contains(argv, "-r"):
			out = infosText(h.tree)
		case !h.exports:
			return nil, errors.New("the exports must not be read")
		case argv[0] == "/usr/sbin/zfs" && argv[len(argv)-2] == "written@"+strings.TrimPrefix(h.snapshot, h.vol+"@"):
			out = fmt.Sprintf("%s\twritten@%s\t%d\t-\n", h.vol, strings.TrimPrefix(h.snapshot, h.vol+"@"), h.writtenAt)
		case argv[0] == "/usr/sbin/tgtadm":
			out = showText(h.targets)
		default:
			return nil, fmt.Errorf("unexpected command %q", argv)
		}
		return &execx.Result{Argv: argv, Stdout: []byte(out)}, nil
	}
}

// captureFrom runs Capture on a host that answers with h; ran are the
// commands it ran.
func captureFrom(h *hostFacts, opts store.Options, ran *[]string) (store.Identity, []string, error) {
	b := New(DefaultPaths)
	b.feat = &zfs.Features{Written: h.written}
	return b.Capture(context.Background(), fakeHost(h, ran), h.snapshot, opts)
}

// TestCaptureDecidesAsAssess: Capture, on a host whose commands print the
// facts of each assessRows row, reads them and decides as the row says,
// and journals their identity; where the snapshots alone refuse it reads
// nothing else. (A row whose exports were not read and that does not
// refuse is assess's alone: Capture reads them.)
func TestCaptureDecidesAsAssess(t *testing.T) {
	for _, tc := range assessRows() {
		if !tc.h.exports && tc.is == nil {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			var ran []string
			id, warnings, err := captureFrom(tc.h, tc.opts, &ran)
			tc.check(t, warnings, err)
			if !tc.h.exports && len(ran) != 1 {
				t.Errorf("ran %q, want the zfs get of the volume alone", ran)
			}
			if err == nil || tc.is == nil {
				if want := tc.h.identity(); !reflect.DeepEqual(id, want) {
					t.Errorf("identity\n %+v\nwant\n %+v", id, want)
				}
			}
		})
	}
}
