package linuxtgt

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/store"
)

// TestMeaninglessOptionsAreRefused: a Linux host has no zones; the zone
// options are refused as bad input before any command runs.
func TestMeaninglessOptionsAreRefused(t *testing.T) {
	ran := 0
	run := func(ctx context.Context, argv []string) (*execx.Result, error) {
		ran++
		return nil, errors.New("no command may run")
	}
	b := New(Paths{Zfs: "/sbin/zfs", Tgtadm: "/usr/sbin/tgtadm"})
	for _, tt := range []struct {
		opts store.Options
		want string
	}{
		{store.Options{HaltZones: true}, "halt_zones"},
		{store.Options{KeepHostdata: true}, "keep_hostdata"},
		{store.Options{SkipPeers: []string{"kz-host1"}}, "skip_peers"},
		{store.Options{HaltZones: true, KeepHostdata: true}, "halt_zones, keep_hostdata"},
	} {
		_, _, err := b.Capture(context.Background(), run, "pool/v@s", tt.opts)
		if !errors.Is(err, engine.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: %v, want InvalidArgument naming %s", tt.opts, err, tt.want)
		}
	}
	if ran > 0 {
		t.Errorf("%d commands ran", ran)
	}
}
