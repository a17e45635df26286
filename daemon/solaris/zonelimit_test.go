package solaris

import (
	"testing"
	"time"

	"github.com/volctl/volctl/daemon/zones"
)

// TestZoneActLimit: what a zone action on a peer may take, from this
// host's zoneadm timeout and zone_shutdown_timeout (ZoneAct runs a state
// read, the verb and a read-back; a shutdown cut short is followed by a
// halt).
func TestZoneActLimit(t *testing.T) {
	for _, tc := range []struct {
		verb          zones.Verb
		cmd, shutdown time.Duration
		want          time.Duration
	}{
		{zones.Detach, 2 * time.Second, time.Minute, 6 * time.Second},
		{zones.AttachInit, 10 * time.Minute, 3 * time.Minute, 30 * time.Minute},
		{zones.Boot, time.Second, time.Hour, 3 * time.Second},
		{zones.Shutdown, 10 * time.Minute, 3 * time.Minute, 33 * time.Minute},
		// The shutdown's own commands end first: 3 × 1 s, then the halt.
		{zones.Shutdown, time.Second, 3 * time.Minute, 6 * time.Second},
	} {
		if got := zoneActLimit(tc.verb, tc.cmd, tc.shutdown); got != tc.want {
			t.Errorf("%s with zoneadm %s, shutdown %s: %s, want %s", tc.verb, tc.cmd, tc.shutdown, got, tc.want)
		}
	}
}
