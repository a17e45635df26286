package linuxtgt

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/execx"
)

// TestKeptUsed: what a kept dataset holds is read with zfs get -H -p, and
// anything but a number of bytes is an error quoting it, never 0.
func TestKeptUsed(t *testing.T) {
	const ds = "pool/a.kept-7-20261207T152435Z"
	cases := []struct {
		name, dataset, stdout string
		runErr                error
		want                  uint64
		err                   string
	}{
		{"a number", ds, ds + "\tused\t1048576\t-\n", nil, 1048576, ""},
		{"not a number", ds, ds + "\tused\t1M\t-\n", nil, 0, `zfs get printed used "1M", not a number of bytes`},
		{"no row", ds, "", nil, 0, "printed no used property"},
		{"garbled", ds, "what\n", nil, 0, "read what " + ds + " holds"},
		{"gone", ds, "", errors.New("cannot open '" + ds + "': dataset does not exist"), 0, "dataset does not exist"},
		{"not a kept name", "pool/a", "", nil, 0, "not a kept dataset's name"},
		{"an option", "-r.kept-1-x", "", nil, 0, "not a kept dataset's name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var ran [][]string
			run := func(_ context.Context, argv []string) (*execx.Result, error) {
				ran = append(ran, argv)
				return &execx.Result{Argv: argv, Stdout: []byte(tc.stdout)}, tc.runErr
			}
			b := New(Paths{Zfs: "/usr/sbin/zfs"})
			got, err := b.KeptUsed(context.Background(), run, tc.dataset)
			if tc.err == "" {
				if err != nil || got != tc.want {
					t.Fatalf("KeptUsed = %d, %v; want %d", got, err, tc.want)
				}
				want := []string{"/usr/sbin/zfs", "get", "-H", "-p", "-o", "name,property,value,source", "used", ds}
				if len(ran) != 1 || !slices.Equal(ran[0], want) {
					t.Errorf("ran %q, want %q", ran, want)
				}
				return
			}
			if err == nil || got != 0 || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("KeptUsed = %d, %v; want an error saying %q", got, err, tc.err)
			}
			if strings.Contains(tc.err, "name") && (!errors.Is(err, engine.ErrInvalid) || len(ran) != 0) {
				t.Errorf("a bad name: %v, ran %q; want ErrInvalid and nothing run", err, ran)
			}
		})
	}
}
