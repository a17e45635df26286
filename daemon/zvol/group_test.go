package zvol

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/volctl/volctl/daemon/engine"
)

// The commands TakeGroup runs, as the zfs adapter builds them.
const (
	listBelow = "zfs list -H -o name -r -t filesystem,volume "
	listNames = "zfs list -H -o name "
)

func missingName(n string) reply {
	return reply{stderr: "cannot open '" + n + "': dataset does not exist\n", exit: 1}
}

// TestTakeGroup: each way a group is taken as one moment
// (docs/platform/zfs-snapshot.md), the commands it runs, in order, and
// that a failure part-way leaves none of the group.
func TestTakeGroup(t *testing.T) {
	kz := []string{"pool/kz/d0@s", "pool/kz/d1@s"}
	seed := []string{"pool/idisk0@s", "pool/idisk1@s"}
	seedBelow := reply{out: "pool\npool/data\npool/idisk0\npool/idisk1\n"}
	tooMany := "zfs snapshot volctl-probe-nopool/a@volctl-probe volctl-probe-nopool/b@volctl-probe: too many arguments (one snapshot per command)"
	quietOK := func(context.Context, []string) (string, error) { return "zone kz1 is installed on this host", nil }
	running := func(context.Context, []string) (string, error) {
		return "", fmt.Errorf("zone kz1 is running on this host (on pool/idisk0, pool/idisk1): shut it down first: %w", engine.ErrPrecondition)
	}
	for _, tc := range []struct {
		name    string
		names   []string
		many    bool
		quiet   []func(context.Context, []string) (string, error) // one per call; nil: Quiet is nil
		replies map[string]reply
		ran     []string
		want    error
		inMsg   []string
		also    []string
	}{
		{name: "illumos: one command", names: seed, many: true,
			replies: map[string]reply{"zfs snapshot pool/idisk0@s pool/idisk1@s": {}},
			ran:     []string{"zfs snapshot pool/idisk0@s pool/idisk1@s"}, inMsg: []string{"one zfs snapshot"}},
		{name: "one snapshot: one command", names: seed[:1],
			replies: map[string]reply{"zfs snapshot pool/idisk0@s": {}},
			ran:     []string{"zfs snapshot pool/idisk0@s"}},
		{name: "Solaris: all below one dataset: snapshot -r", names: kz,
			replies: map[string]reply{
				listBelow + "pool/kz":                   {out: "pool/kz\npool/kz/d0\npool/kz/d1\n"},
				listNames + "pool/kz@s":                 missingName("pool/kz@s"),
				"zfs snapshot -r pool/kz@s":             {},
				listNames + "pool/kz/d0@s pool/kz/d1@s": {out: "pool/kz/d0@s\npool/kz/d1@s\n"},
			},
			ran:   []string{listBelow + "pool/kz", listNames + "pool/kz@s", "zfs snapshot -r pool/kz@s", listNames + "pool/kz/d0@s pool/kz/d1@s"},
			inMsg: []string{"zfs snapshot -r pool/kz@s, which also took pool/kz@s"}, also: []string{"pool/kz@s"}},
		{name: "Solaris: other datasets below: one by one while quiet", names: seed, quiet: []func(context.Context, []string) (string, error){quietOK, quietOK},
			replies: map[string]reply{listBelow + "pool": seedBelow, "zfs snapshot pool/idisk0@s": {}, "zfs snapshot pool/idisk1@s": {}},
			ran:     []string{listBelow + "pool", "zfs snapshot pool/idisk0@s", "zfs snapshot pool/idisk1@s"},
			inMsg:   []string{"one by one", "zone kz1 is installed on this host"}},
		{name: "Solaris: a running zone: refused, nothing taken", names: seed, quiet: []func(context.Context, []string) (string, error){running},
			replies: map[string]reply{listBelow + "pool": seedBelow},
			ran:     []string{listBelow + "pool"}, want: engine.ErrPrecondition,
			inMsg: []string{"none of pool/idisk0@s, pool/idisk1@s was taken", "too many arguments", "pool, the one dataset they are all below, has other datasets below it too (pool/data)", "zone kz1 is running", "shut it down first"}},
		{name: "Solaris: nobody can tell who writes: refused", names: seed,
			replies: map[string]reply{listBelow + "pool": seedBelow},
			ran:     []string{listBelow + "pool"}, want: engine.ErrPrecondition, inMsg: []string{"cannot tell whether anything writes"}},
		{name: "different snapshot names: no -r", names: []string{"pool/kz/d0@a", "pool/kz/d1@b"}, quiet: []func(context.Context, []string) (string, error){quietOK, quietOK},
			replies: map[string]reply{"zfs snapshot pool/kz/d0@a": {}, "zfs snapshot pool/kz/d1@b": {}},
			ran:     []string{"zfs snapshot pool/kz/d0@a", "zfs snapshot pool/kz/d1@b"}},
		{name: "the parent's snapshot exists: one by one", names: kz, quiet: []func(context.Context, []string) (string, error){quietOK, quietOK},
			replies: map[string]reply{
				listBelow + "pool/kz":       {out: "pool/kz\npool/kz/d0\npool/kz/d1\n"},
				listNames + "pool/kz@s":     {out: "pool/kz@s\n"},
				"zfs snapshot pool/kz/d0@s": {}, "zfs snapshot pool/kz/d1@s": {},
			},
			ran: []string{listBelow + "pool/kz", listNames + "pool/kz@s", "zfs snapshot pool/kz/d0@s", "zfs snapshot pool/kz/d1@s"}},
		{name: "the second fails: the first is destroyed", names: seed, quiet: []func(context.Context, []string) (string, error){quietOK},
			replies: map[string]reply{listBelow + "pool": seedBelow, "zfs snapshot pool/idisk0@s": {},
				"zfs snapshot pool/idisk1@s": {stderr: "cannot create snapshot 'pool/idisk1@s': out of space\n", exit: 1},
				"zfs destroy pool/idisk0@s":  {}},
			ran:  []string{listBelow + "pool", "zfs snapshot pool/idisk0@s", "zfs snapshot pool/idisk1@s", "zfs destroy pool/idisk0@s"},
			want: engine.ErrStepFailed, inMsg: []string{"out of space", "destroyed pool/idisk0@s, which this request had taken, so none of the group is left"}},
		{name: "the second fails and the destroy too: named", names: seed, quiet: []func(context.Context, []string) (string, error){quietOK},
			replies: map[string]reply{listBelow + "pool": seedBelow, "zfs snapshot pool/idisk0@s": {},
				"zfs snapshot pool/idisk1@s": {stderr: "cannot create snapshot 'pool/idisk1@s': out of space\n", exit: 1},
				"zfs destroy pool/idisk0@s":  {stderr: "cannot destroy 'pool/idisk0@s': dataset is busy\n", exit: 1}},
			ran:  []string{listBelow + "pool", "zfs snapshot pool/idisk0@s", "zfs snapshot pool/idisk1@s", "zfs destroy pool/idisk0@s"},
			want: engine.ErrNeedsAttention, inMsg: []string{"volctl could not destroy what this request had taken: pool/idisk0@s may still exist", "dataset is busy"}},
		{name: "the third fails, one destroy too: both named", names: []string{"pool/idisk0@s", "pool/idisk1@s", "pool/idisk2@s"},
			quiet: []func(context.Context, []string) (string, error){quietOK},
			replies: map[string]reply{listBelow + "pool": {out: "pool\npool/data\npool/idisk0\npool/idisk1\npool/idisk2\n"},
				"zfs snapshot pool/idisk0@s": {}, "zfs snapshot pool/idisk1@s": {},
				"zfs snapshot pool/idisk2@s": {stderr: "cannot create snapshot 'pool/idisk2@s': out of space\n", exit: 1},
				"zfs destroy pool/idisk0@s":  {}, "zfs destroy pool/idisk1@s": {stderr: "cannot destroy 'pool/idisk1@s': dataset is busy\n", exit: 1}},
			ran: []string{listBelow + "pool", "zfs snapshot pool/idisk0@s", "zfs snapshot pool/idisk1@s", "zfs snapshot pool/idisk2@s",
				"zfs destroy pool/idisk0@s", "zfs destroy pool/idisk1@s"},
			want: engine.ErrNeedsAttention, inMsg: []string{"destroyed pool/idisk0@s, which this request had taken; but pool/idisk1@s may still exist"}},
		{name: "the second is killed: destroyed if it exists", names: seed, quiet: []func(context.Context, []string) (string, error){quietOK},
			replies: map[string]reply{listBelow + "pool": seedBelow, "zfs snapshot pool/idisk0@s": {},
				"zfs snapshot pool/idisk1@s": {exit: -1},
				listNames + "pool/idisk1@s":  {out: "pool/idisk1@s\n"},
				"zfs destroy pool/idisk0@s":  {}, "zfs destroy pool/idisk1@s": {}},
			ran: []string{listBelow + "pool", "zfs snapshot pool/idisk0@s", "zfs snapshot pool/idisk1@s", listNames + "pool/idisk1@s",
				"zfs destroy pool/idisk0@s", "zfs destroy pool/idisk1@s"},
			want: engine.ErrStepFailed, inMsg: []string{"destroyed pool/idisk0@s, pool/idisk1@s"}},
		{name: "a zone started meanwhile: both destroyed", names: seed, quiet: []func(context.Context, []string) (string, error){quietOK, running},
			replies: map[string]reply{listBelow + "pool": seedBelow, "zfs snapshot pool/idisk0@s": {}, "zfs snapshot pool/idisk1@s": {},
				"zfs destroy pool/idisk0@s": {}, "zfs destroy pool/idisk1@s": {}},
			ran:  []string{listBelow + "pool", "zfs snapshot pool/idisk0@s", "zfs snapshot pool/idisk1@s", "zfs destroy pool/idisk0@s", "zfs destroy pool/idisk1@s"},
			want: engine.ErrStepFailed, inMsg: []string{"could not confirm that nothing had written", "zone kz1 is running"}},
		{name: "snapshot -r left one out: all it took destroyed", names: kz,
			replies: map[string]reply{
				listBelow + "pool/kz":                             {out: "pool/kz\npool/kz/d0\npool/kz/d1\n"},
				listNames + "pool/kz@s":                           missingName("pool/kz@s"),
				"zfs snapshot -r pool/kz@s":                       {},
				listNames + "pool/kz/d0@s pool/kz/d1@s":           {out: "pool/kz/d0@s\n", stderr: "cannot open 'pool/kz/d1@s': dataset does not exist\n", exit: 1},
				listNames + "pool/kz@s pool/kz/d0@s pool/kz/d1@s": {out: "pool/kz@s\npool/kz/d0@s\n", stderr: "cannot open 'pool/kz/d1@s': dataset does not exist\n", exit: 1},
				"zfs destroy pool/kz@s":                           {}, "zfs destroy pool/kz/d0@s": {},
			},
			ran: []string{listBelow + "pool/kz", listNames + "pool/kz@s", "zfs snapshot -r pool/kz@s", listNames + "pool/kz/d0@s pool/kz/d1@s",
				listNames + "pool/kz@s pool/kz/d0@s pool/kz/d1@s", "zfs destroy pool/kz@s", "zfs destroy pool/kz/d0@s"},
			want: engine.ErrStepFailed, inMsg: []string{"did not take pool/kz/d1@s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHost(t, tc.replies)
			g := Group{Many: tc.many, ManyDetail: tooMany}
			calls := 0
			if tc.quiet != nil {
				g.Quiet = func(ctx context.Context, vols []string) (string, error) {
					calls++
					if calls > len(tc.quiet) {
						t.Fatalf("Quiet asked %d times", calls)
					}
					return tc.quiet[calls-1](ctx, vols)
				}
			}
			taken, err := TakeGroup(context.Background(), h.zfs(false), tc.names, g)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			msg := taken.Method
			if err != nil {
				msg = err.Error()
			}
			for _, s := range tc.inMsg {
				if !strings.Contains(msg, s) {
					t.Errorf("%q does not say %q", msg, s)
				}
			}
			if !slices.Equal(h.ran, tc.ran) {
				t.Errorf("ran\n  %s\nwant\n  %s", strings.Join(h.ran, "\n  "), strings.Join(tc.ran, "\n  "))
			}
			if !slices.Equal(taken.Also, tc.also) {
				t.Errorf("also %v, want %v", taken.Also, tc.also)
			}
			if tc.quiet != nil && calls != len(tc.quiet) {
				t.Errorf("Quiet asked %d times, want %d", calls, len(tc.quiet))
			}
		})
	}
}

func TestCommonParent(t *testing.T) {
	for _, tc := range []struct {
		vols []string
		want string
	}{
		{[]string{"pool/idisk0", "pool/idisk1"}, "pool"},
		{[]string{"pool/kz/d0", "pool/kz/d1"}, "pool/kz"},
		{[]string{"pool/kz/d0", "pool/kz/sub/d1"}, "pool/kz"},
		{[]string{"pool/a/d0", "pool/b/d1"}, "pool"},
		{[]string{"pool/d0", "tank/d1"}, ""},
		{[]string{"pool/kz/d0", "pool/kz2/d1"}, "pool"},
	} {
		if got := commonParent(tc.vols); got != tc.want {
			t.Errorf("commonParent(%v) = %q, want %q", tc.vols, got, tc.want)
		}
	}
}
