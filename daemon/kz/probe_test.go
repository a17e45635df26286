package kz

import (
	"context"
	"testing"

	"github.com/volctl/volctl/daemon/execx"
)

// zoneadm list -s: Solaris 11.4 prints the auxiliary-state table; illumos
// rejects -s with its usage and exit 2 (docs/platform/zones.md §1).
func TestProbeListS(t *testing.T) {
	for _, tc := range []struct {
		name          string
		exit          int
		stderr        string
		runErr        error
		want, wantErr bool
	}{
		{"Solaris 11.4", 0, "", nil, true, false},
		{"illumos", 2, "-s: illegal option -- s\nusage:\tlist [-cipv]\n", nil, false, false},
		{"zoneadm failing otherwise", 1, "zoneadm: could not get zone list\n", nil, false, true},
		{"zoneadm killed", -1, "", context.DeadlineExceeded, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := func(_ context.Context, argv []string) (*execx.Result, error) {
				r := &execx.Result{Argv: argv, Exit: tc.exit, Stderr: []byte(tc.stderr), Err: tc.runErr}
				if tc.exit != 0 || tc.runErr != nil {
					return r, &execx.Error{R: r}
				}
				return r, nil
			}
			got, _, err := Cmd{Zoneadm: "/usr/sbin/zoneadm", Run: run}.ProbeListS(context.Background())
			if got != tc.want || (err != nil) != tc.wantErr {
				t.Errorf("got %v, %v; want %v, error %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}
