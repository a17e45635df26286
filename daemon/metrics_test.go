package daemon_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	v1 "github.com/volctl/volctl/proto/volctl/v1"
	"github.com/volctl/volctl/sim"
	"github.com/volctl/volctl/sim/simtest"
)

func TestMetrics(t *testing.T) {
	root := simtest.Host(t)
	addr := freePort(t)
	cfg, sock := writeConfigWith(t, root, "", fmt.Sprintf("[metrics]\nlisten = %q\n", addr))
	d := startDaemon(t, cfg, sock)
	c := d.client()
	if _, err := c.Rollback(context.Background(), &v1.RollbackRequest{Snapshot: "pool/idisk0@snap1"}, nil); err != nil {
		t.Fatal(err)
	}
	// A rollback that fails and is compensated (the volume changed since
	// its snapshot, so the failed rollback visibly did not happen).
	if err := sim.WriteData(root, "pool/idisk1", []byte("idisk1 changed")); err != nil {
		t.Fatal(err)
	}
	if err := sim.AddFault(root, sim.Fault{Command: "zfs", Match: "zfs rollback", Action: sim.ActionFail, Stderr: "cannot rollback 'pool/idisk1': dataset is busy"}); err != nil {
		t.Fatal(err)
	}
	// idisk1 has no zone: this host's own session on tgt-a is a consumer
	// volctl does not know of.
	if _, err := c.Rollback(context.Background(), &v1.RollbackRequest{Snapshot: "pool/idisk1@base", Options: &v1.RollbackOptions{AcceptSessions: true}}, nil); err == nil {
		t.Fatal("the injected failure did not fail the rollback")
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	body := string(b)
	for _, want := range []string{
		`volctl_operations_total{state="succeeded"} 1`,
		`volctl_operations_total{state="rolled_back"} 1`,
		`volctl_compensations_total 1`,
		`volctl_outage_window_seconds_count 2`,
		`volctl_step_duration_seconds_count{state="done",step="rollback"} 1`,
		`volctl_step_duration_seconds_count{state="failed",step="rollback"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if t.Failed() {
		t.Logf("metrics:\n%s", grep(body, "volctl_"))
	}
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
