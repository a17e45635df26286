package solaris_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/sim"
	"github.com/volctl/volctl/sim/simtest"
	"github.com/volctl/volctl/store"
)

// TestRecoverInitializeHostdata: a rollback with keep_hostdata whose
// kernel zone will not attach with the snapshot's host data says how to
// go on (recover with --initialize-hostdata, as volctl's flags name it);
// a recover without that consent tries the plain attach again, and only
// with it does recover attach with fresh host data, the consent journaled
// with the operation. Solaris only (kernel zones).
func TestRecoverInitializeHostdata(t *testing.T) {
	root := kzHost(t)
	e, db := newEngine(t, root, engine.Config{Retries: 2})
	op, _, err := rollback(t, e, "pool/idisk0@snap1", store.Options{KeepHostdata: true})
	if !errors.Is(err, engine.ErrNeedsAttention) {
		t.Fatalf("err = %v, want needs attention", err)
	}
	advice := fmt.Sprintf("run: volctl recover %d --initialize-hostdata", op.ID)
	if !strings.Contains(err.Error(), advice) || strings.Contains(err.Error(), "keep_hostdata") {
		t.Errorf("error does not say %q in volctl's words: %v", advice, err)
	}
	count := func(argv string) int {
		n := 0
		for _, c := range mutating(t, root) {
			if c == argv {
				n++
			}
		}
		return n
	}
	const plain, fresh = "zoneadm -z kz1 attach", "zoneadm -z kz1 attach -x initialize-hostdata"

	op, err = e.Recover(context.Background(), op.ID, engine.RecoverOptions{}, func(engine.Event) {})
	if !errors.Is(err, engine.ErrNeedsAttention) || op.State != store.OpNeedsAttention || !strings.Contains(err.Error(), advice) {
		t.Fatalf("recover without the consent: %v, state %v", err, op.State)
	}
	if count(plain) != 2 || count(fresh) != 0 {
		t.Fatalf("without the consent: plain attach %d times (want 2), with fresh host data %d (want 0)", count(plain), count(fresh))
	}

	op, err = e.Recover(context.Background(), op.ID, engine.RecoverOptions{InitializeHostdata: true}, func(engine.Event) {})
	if err != nil || op.State != store.OpSucceeded {
		t.Fatalf("recover --initialize-hostdata: %v, state %v", err, op.State)
	}
	if count(plain) != 2 || count(fresh) != 1 {
		t.Errorf("with the consent: plain attach %d times (want 2), with fresh host data %d (want 1)", count(plain), count(fresh))
	}
	got, err := db.GetOperation(op.ID)
	if err != nil || !got.Options.InitializeHostdata || !got.Options.KeepHostdata {
		t.Errorf("journaled options %+v, %v: want keep_hostdata and initialize_hostdata", got.Options, err)
	}
	st, _ := sim.Load(root)
	if z := st.Zone("kz1"); z.State != sim.ZoneInstalled {
		t.Errorf("kz1 is %s, want installed", z.State)
	}
	simtest.Must(t, root, simtest.AtSnapshot)
}
