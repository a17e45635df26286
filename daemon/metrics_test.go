package daemon_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
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

// scrape returns the volctl_ lines of /metrics at addr.
func scrape(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return grep(string(b), "volctl_")
}

// TestMetricsNeedsAttention: the series an alert needs are there at 0
// before anything happened; the needs-attention gauge counts an operation
// that ended there, still counts it after a restart (from the journal), and
// drops it once it is recovered.
func TestMetricsNeedsAttention(t *testing.T) {
	root := simtest.Host(t)
	addr := freePort(t)
	cfg, sock := writeConfigWith(t, root, "", fmt.Sprintf("[metrics]\nlisten = %q\n", addr))
	d := startDaemon(t, cfg, sock)
	expect := func(when string, want ...string) {
		t.Helper()
		body := scrape(t, addr)
		for _, w := range want {
			if !strings.Contains(body+"\n", w+"\n") {
				t.Errorf("%s: /metrics lacks %s", when, w)
			}
		}
		if t.Failed() {
			t.Fatalf("metrics:\n%s", body)
		}
	}
	expect("at start",
		`volctl_operations_needs_attention 0`,
		`volctl_operations_total{state="needs_attention"} 0`,
		`volctl_recoveries_total{how="recover"} 0`,
		`volctl_step_duration_seconds_count{state="failed",step="import-lu"} 0`,
		// the longest timeout: zoneadm's default, 10m
		`volctl_step_duration_seconds_bucket{state="done",step="rollback",le="600"} 0`,
		`volctl_build_info{goversion="`+runtime.Version()+`",platform="solaris",version="dev"} 1`)

	// import-lu fails, every retry: past the point of no return, so the
	// operation needs attention.
	if err := sim.AddFault(root, sim.Fault{Command: "stmfadm", Match: "import-lu", Action: sim.ActionFail, Stderr: "stmfadm: unexpected error"}); err != nil {
		t.Fatal(err)
	}
	c := d.client()
	op, _ := c.Rollback(context.Background(), &v1.RollbackRequest{Snapshot: "pool/idisk0@snap1"}, nil)
	if op.GetState() != v1.OperationState_OPERATION_STATE_NEEDS_ATTENTION {
		t.Fatalf("rollback ended %s, want needs attention", op.GetState())
	}
	expect("after the failure", `volctl_operations_needs_attention 1`, `volctl_operations_total{state="needs_attention"} 1`)

	d.kill()
	d = startDaemon(t, cfg, sock)
	expect("after a restart", `volctl_operations_needs_attention 1`, `volctl_operations_total{state="needs_attention"} 0`)

	if err := sim.ClearFaults(root); err != nil {
		t.Fatal(err)
	}
	if op, err := d.client().Recover(context.Background(), &v1.RecoverOperationRequest{Id: op.GetId()}, nil); op.GetState() != v1.OperationState_OPERATION_STATE_SUCCEEDED {
		t.Fatalf("recover: %s %v", op.GetState(), err)
	}
	expect("after recover", `volctl_operations_needs_attention 0`, `volctl_recoveries_total{how="recover"} 1`,
		`volctl_operations_total{state="succeeded"} 1`)
}
