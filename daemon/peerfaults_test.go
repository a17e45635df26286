package daemon_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/volctl/volctl/proto/volctl/v1"
	"github.com/volctl/volctl/sim"
	"github.com/volctl/volctl/sim/simtest"
)

// The peer side of the fault and crash suites: the seed's rollback with
// kz1 running on the zone host (shut down, detached, attached with fresh
// host data and booted there through the zone service), with each of the
// zone host's commands failing or hanging, the zone host's volctld down,
// slow or killed -9, and the storage host's volctld killed -9 while a zone
// host's command runs. Each ends consistent on both hosts: the storage
// host's journal decides, the zone host's makes the retries safe.

// peerZoneTimeouts makes a hung zoneadm on the zone host fail within the
// storage host's peer deadline.
const peerZoneTimeouts = "[timeouts.command]\nzoneadm = \"2s\"\nzonecfg = \"2s\"\n"

func newPeerRig(t *testing.T) *twoHosts {
	h := newTwoHosts(t, "", "")
	h.zCfg, h.zSock = rewriteWith(t, h, peerZoneTimeouts)
	zoneadm(t, h.zone, "-z", "kz1", "boot")
	return h
}

// rewriteWith appends tables to the zone host's configuration.
func rewriteWith(t *testing.T, h *twoHosts, tables string) (string, string) {
	appendFile(t, h.zCfg, tables)
	return h.zCfg, h.zSock
}

// zonePoints runs the reference two-host rollback and returns each command
// the zone host ran for it, with its occurrence number.
func zonePoints(t *testing.T) []point {
	h := newPeerRig(t)
	h.start()
	before, _ := sim.Calls(h.zone)
	op, err := h.storageD.client().Rollback(context.Background(), &v1.RollbackRequest{Snapshot: "pool/idisk0@snap1",
		Options: &v1.RollbackOptions{HaltZones: true}}, nil)
	if err != nil || op.GetState() != v1.OperationState_OPERATION_STATE_SUCCEEDED {
		t.Fatalf("reference rollback: %v\n%s", err, h.logs())
	}
	h.check(simtest.AtSnapshot, sim.ZoneRunning)
	calls, _ := sim.Calls(h.zone)
	out := pointsOf(calls[len(before):], "")
	if len(out) < 10 {
		t.Fatalf("the zone host ran %d commands for the reference rollback: %v", len(out), out)
	}
	return out
}

// settle waits for the storage host's operation (if one was journaled) to
// end, recovers it once if it needs attention, and checks both hosts.
func settle(t *testing.T, h *twoHosts) {
	t.Helper()
	outcome := resumedOutcome(t, h.storageD.client())
	t.Logf("ended: %s", outcome)
	if bad := simtest.CheckTwoHosts(h.storage, h.zone, outcome, sim.ZoneRunning); len(bad) > 0 {
		t.Fatalf("inconsistent (%s): %s\n%s", outcome, strings.Join(bad, "; "), h.logs())
	}
}

// TestPeerFaultInjection fails and hangs each of the zone host's commands
// once, and runs the rollback with the zone host's volctld down and slow.
func TestPeerFaultInjection(t *testing.T) {
	if testing.Short() {
		t.Skip("peer fault injection: not in -short")
	}
	points := zonePoints(t)
	var injected, consistent atomic.Int64
	t.Cleanup(func() { simtest.Summary("peer-fault-injection", int(injected.Load()), int(consistent.Load())) })
	run := func(name string, fn func(t *testing.T)) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			injected.Add(1)
			t.Cleanup(func() {
				if !t.Failed() {
					consistent.Add(1)
				}
			})
			fn(t)
		})
	}
	for _, p := range points {
		for _, action := range []string{sim.ActionFail, sim.ActionHang} {
			run(fmt.Sprintf("%s #%d %s", p.match, p.nth, action), func(t *testing.T) {
				h := newPeerRig(t)
				if err := sim.AddFault(h.zone, sim.Fault{Command: p.cmd, Match: p.match, Nth: p.nth, Times: 1, Action: action,
					Stderr: "zoneadm: zone 'kz1': injected failure"}); err != nil {
					t.Fatal(err)
				}
				h.start()
				_, _ = h.storageD.client().Rollback(context.Background(), &v1.RollbackRequest{Snapshot: "pool/idisk0@snap1",
					Options: &v1.RollbackOptions{HaltZones: true}}, nil)
				simtest.KillHung(h.zone)
				settle(t, h)
			})
		}
	}
	run("zone host's volctld down", func(t *testing.T) {
		h := newPeerRig(t)
		h.storageD = startDaemon(t, h.sCfg, h.sSock)
		_, err := h.storageD.client().Rollback(context.Background(), &v1.RollbackRequest{Snapshot: "pool/idisk0@snap1",
			Options: &v1.RollbackOptions{HaltZones: true}}, nil)
		if err == nil || !strings.Contains(err.Error(), "kz-host1") {
			t.Errorf("rollback with the peer down: %v, want a refusal naming it", err)
		}
		settle(t, h)
	})
	for _, lat := range []time.Duration{200 * time.Millisecond, 1500 * time.Millisecond} {
		// 1.5 s a command: the capture's question outlasts the 3 s peer
		// deadline, and the rollback is refused before anything changes.
		run(fmt.Sprintf("zone host slow, %s a command", lat), func(t *testing.T) {
			h := newPeerRig(t)
			if err := sim.SetLatency(h.zone, lat); err != nil {
				t.Fatal(err)
			}
			h.start()
			_, _ = h.storageD.client().Rollback(context.Background(), &v1.RollbackRequest{Snapshot: "pool/idisk0@snap1",
				Options: &v1.RollbackOptions{HaltZones: true}}, nil)
			if err := sim.SetLatency(h.zone, 0); err != nil {
				t.Fatal(err)
			}
			settle(t, h)
		})
	}
}

// TestPeerCrashInjection kills -9 the zone host's volctld, or the storage
// host's, while each of the zone host's commands of the rollback hangs,
// then starts it again.
func TestPeerCrashInjection(t *testing.T) {
	if testing.Short() {
		t.Skip("peer crash injection: not in -short")
	}
	points := zonePoints(t)
	var injected, consistent atomic.Int64
	t.Cleanup(func() { simtest.Summary("peer-crash-injection", int(injected.Load()), int(consistent.Load())) })
	for i, p := range points {
		// The zone host's changes, and its first read (a crash while
		// answering the capture); its other reads are those of the zone
		// actions, covered by the fault suite.
		if i > 0 && isReadCall(p.match) {
			continue
		}
		victims := []string{"zone", "storage"}
		if !isReadCall(p.match) {
			// The zone host's volctld killed while its command is slow,
			// the command not killed: the zone call journal must not run
			// the action again while the old one still runs.
			victims = append(victims, zoneOutlived)
		}
		for _, victim := range victims {
			name := fmt.Sprintf("%s #%d kill %s volctld", p.match, p.nth, victim)
			if victim == zoneOutlived {
				name = fmt.Sprintf("%s #%d kill zone volctld, the command outlives it", p.match, p.nth)
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				injected.Add(1)
				t.Cleanup(func() {
					if !t.Failed() {
						consistent.Add(1)
					}
				})
				h := newTwoHosts(t, "", "")
				zoneadm(t, h.zone, "-z", "kz1", "boot")
				f := sim.Fault{Command: p.cmd, Match: p.match, Nth: p.nth, Times: 1, Action: sim.ActionHang}
				if victim == zoneOutlived {
					f.Action = actionOutlive
				}
				if err := sim.AddFault(h.zone, outliveFault(f)); err != nil {
					t.Fatal(err)
				}
				h.start()
				c := h.storageD.client()
				go func() {
					_, _ = c.Rollback(context.Background(), &v1.RollbackRequest{Snapshot: "pool/idisk0@snap1",
						Options: &v1.RollbackOptions{HaltZones: true}}, nil)
				}()
				waitHung(t, h.zone, h.logs())
				var restart time.Time
				switch victim {
				case "zone":
					h.zoneDaemon.kill()
					simtest.KillHung(h.zone)
					h.startZone()
				case zoneOutlived:
					h.zoneDaemon.kill()
					restart = time.Now()
					h.startZone()
				default:
					h.storageD.kill()
					simtest.KillHung(h.zone)
					h.storageD = startDaemon(t, h.sCfg, h.sSock)
				}
				settle(t, h)
				if victim == zoneOutlived {
					checkOutlived(t, h.zone, restart, h.logs)
				}
			})
		}
	}
}

// zoneOutlived is TestPeerCrashInjection's victim for the zone host's
// volctld killed while its command is slow, the command not killed.
const zoneOutlived = "zone-outlived"

func appendFile(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

// TestPeerPartitionHeals: the zone host's volctld goes away in the middle
// of a zone action and stays away until the storage host has given up on
// the operation; once it is back, recover finishes it (or it was already
// compensated) and both hosts are consistent.
func TestPeerPartitionHeals(t *testing.T) {
	if testing.Short() {
		t.Skip("not in -short")
	}
	for _, match := range []string{"zoneadm -z kz1 attach -x initialize-hostdata"} {
		t.Run(match, func(t *testing.T) {
			t.Parallel()
			h := newTwoHosts(t, "", "")
			zoneadm(t, h.zone, "-z", "kz1", "boot")
			if err := sim.AddFault(h.zone, sim.Fault{Command: "zoneadm", Match: match, Nth: 1, Times: 1, Action: sim.ActionHang}); err != nil {
				t.Fatal(err)
			}
			h.start()
			c := h.storageD.client()
			done := make(chan *v1.Operation, 1)
			go func() {
				op, _ := c.Rollback(context.Background(), &v1.RollbackRequest{Snapshot: "pool/idisk0@snap1",
					Options: &v1.RollbackOptions{HaltZones: true}}, nil)
				done <- op
			}()
			waitHung(t, h.zone, h.logs())
			h.zoneDaemon.kill()
			simtest.KillHung(h.zone)
			var op *v1.Operation
			select {
			case op = <-done:
			case <-time.After(90 * time.Second):
				t.Fatalf("the storage host never gave up on the unreachable peer\n%s", h.logs())
			}
			if op == nil || !slices.Contains([]v1.OperationState{v1.OperationState_OPERATION_STATE_NEEDS_ATTENTION,
				v1.OperationState_OPERATION_STATE_ROLLED_BACK}, op.GetState()) {
				t.Fatalf("with the peer gone: %v, want needs attention or rolled back\n%s", op, h.logs())
			}
			t.Logf("while partitioned: %s: %s", op.GetState(), op.GetError())
			h.startZone()
			settle(t, h)
		})
	}
}
