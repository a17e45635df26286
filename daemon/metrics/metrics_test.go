package metrics

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/volctl/volctl/store"
)

// series gathers m's registry into "name{label="value",...}" → value, with
// labels sorted by name; a histogram gives its _count and each _bucket.
func series(t *testing.T, m *Metrics) map[string]float64 {
	t.Helper()
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "volctl_") {
			continue
		}
		for _, mm := range mf.GetMetric() {
			var labels []string
			for _, l := range mm.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			sort.Strings(labels)
			key := func(suffix string, extra ...string) string {
				ls := append(slices.Clone(labels), extra...)
				sort.Strings(ls)
				return mf.GetName() + suffix + "{" + strings.Join(ls, ",") + "}"
			}
			switch {
			case mm.GetCounter() != nil:
				out[key("")] = mm.GetCounter().GetValue()
			case mm.GetGauge() != nil:
				out[key("")] = mm.GetGauge().GetValue()
			case mm.GetHistogram() != nil:
				h := mm.GetHistogram()
				out[key("_count")] = float64(h.GetSampleCount())
				for _, b := range h.GetBucket() {
					out[key("_bucket", fmt.Sprintf("le=%q", fmt.Sprint(b.GetUpperBound())))] = float64(b.GetCumulativeCount())
				}
			}
		}
	}
	return out
}

// TestSeriesAtStart: before anything happened every series an alert or a
// dashboard needs is there at 0, build_info at 1, and the histograms reach
// the longest timeout.
func TestSeriesAtStart(t *testing.T) {
	m := New(Options{Version: "v1.2.3", Platform: "solaris", Steps: []string{"delete-lu", "rollback", "boot-zones"},
		MaxDuration: 10 * time.Minute})
	got := series(t, m)
	want := map[string]float64{
		`volctl_operations_total{state="needs_attention"}`:                                                    0,
		`volctl_operations_total{state="rolled_back"}`:                                                        0,
		`volctl_operations_total{state="succeeded"}`:                                                          0,
		`volctl_operations_total{state="resolved"}`:                                                           0,
		`volctl_operations_needs_attention{}`:                                                                 0,
		`volctl_operations_by_kind_total{kind="rollback",state="succeeded"}`:                                  0,
		`volctl_operations_by_kind_total{kind="undo",state="needs_attention"}`:                                0,
		`volctl_operations_by_kind_total{kind="forget",state="rolled_back"}`:                                  0,
		`volctl_kept_datasets{}`:                                                                              0,
		`volctl_compensations_total{}`:                                                                        0,
		`volctl_outage_window_seconds_count{}`:                                                                0,
		`volctl_recoveries_total{how="recover"}`:                                                              0,
		`volctl_recoveries_total{how="restart"}`:                                                              0,
		`volctl_step_duration_seconds_count{state="done",step="delete-lu"}`:                                   0,
		`volctl_step_duration_seconds_count{state="failed",step="rollback"}`:                                  0,
		`volctl_step_duration_seconds_count{state="compensated",step="boot-zones"}`:                           0,
		`volctl_step_duration_seconds_bucket{le="600",state="done",step="rollback"}`:                          0,
		`volctl_outage_window_seconds_bucket{le="600"}`:                                                       0,
		fmt.Sprintf(`volctl_build_info{goversion=%q,platform="solaris",version="v1.2.3"}`, runtime.Version()): 1,
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
	if n := testutil.CollectAndCount(m.steps); n != 3*len(stepEnds) {
		t.Errorf("%d step series, want %d (3 steps × %v)", n, 3*len(stepEnds), stepEnds)
	}
	if t.Failed() {
		var keys []string
		for k := range got {
			if !strings.Contains(k, "_bucket") {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		t.Logf("series:\n%s", strings.Join(keys, "\n"))
	}
	problems, err := testutil.GatherAndLint(m.Registry())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "volctl_") {
			t.Errorf("lint: %s: %s", p.Metric, p.Text)
		}
	}
}

func TestBuckets(t *testing.T) {
	tests := []struct {
		name string
		max  time.Duration
		want []float64 // nil: only check the ends
	}{
		{"below the first bound", 5 * time.Millisecond, []float64{0.01}},
		{"on a doubling", 80 * time.Millisecond, []float64{0.01, 0.02, 0.04, 0.08}},
		{"between doublings", 50 * time.Millisecond, []float64{0.01, 0.02, 0.04, 0.05}},
		{"zoneadm's default timeout", 10 * time.Minute, nil},
		{"an hour", time.Hour, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Buckets(tc.max)
			if tc.want != nil && !slices.Equal(got, tc.want) {
				t.Errorf("Buckets(%v) = %v, want %v", tc.max, got, tc.want)
			}
			if got[0] != 0.01 {
				t.Errorf("first bucket %v, want 10ms", got[0])
			}
			if last := got[len(got)-1]; last < tc.max.Seconds() {
				t.Errorf("largest finite bucket %v < the longest timeout %v", last, tc.max)
			}
			for i := 1; i < len(got); i++ {
				if !(got[i] > got[i-1]) || got[i] > 2*got[i-1]+1e-9 {
					t.Errorf("bucket %d: %v after %v, want increasing, at most doubling", i, got[i], got[i-1])
				}
			}
		})
	}
	// What New makes of it: the histogram's largest finite bucket.
	m := New(Options{Steps: []string{"rollback"}, MaxDuration: 17 * time.Minute})
	m.StepFinished("rollback", store.StepDone, 16*time.Minute)
	largest, inLargest := math.Inf(-1), 0.0
	for k, v := range series(t, m) {
		if strings.HasPrefix(k, "volctl_step_duration_seconds_bucket{") && !strings.Contains(k, `le="+Inf"`) && strings.Contains(k, `state="done"`) {
			var le float64
			if _, err := fmt.Sscanf(k[strings.Index(k, `le="`)+4:], "%g", &le); err != nil {
				t.Fatalf("%s: %v", k, err)
			}
			if le > largest {
				largest, inLargest = le, v
			}
		}
	}
	if largest < (17 * time.Minute).Seconds() {
		t.Errorf("largest finite step bucket %v < 17m", largest)
	}
	if inLargest != 1 {
		t.Errorf("a 16-minute step is not in the largest finite bucket (%v): %v", largest, inLargest)
	}
}

// TestNeedsAttention follows the gauge through the journal at start and
// the engine's reports, including reports that came before the journal was
// read (the engine starts before it is).
func TestNeedsAttention(t *testing.T) {
	op := func(id uint64, s store.OpState) *store.Operation { return &store.Operation{ID: id, State: s} }
	type event struct {
		finished *store.Operation // OperationFinished
		recover  uint64           // Recovered(how "recover")
		restart  uint64           // Recovered(how "restart")
		journal  []*store.Operation
		want     float64 // the gauge after the event
	}
	tests := []struct {
		name   string
		events []event
	}{
		{"journal, then a failure and recoveries", []event{
			{journal: []*store.Operation{op(1, store.OpNeedsAttention), op(2, store.OpSucceeded), op(3, store.OpNeedsAttention)}, want: 2},
			{finished: op(4, store.OpNeedsAttention), want: 3},
			{recover: 1, want: 2},
			{finished: op(1, store.OpSucceeded), want: 2},
			{recover: 3, want: 1},
			{finished: op(3, store.OpNeedsAttention), want: 2}, // the recovery needs attention again
			{restart: 5, want: 2},
			{finished: op(5, store.OpRolledBack), want: 2},
			{recover: 4, want: 1},
			{finished: op(4, store.OpRolledBack), want: 1},
			{recover: 3, want: 0},
			{finished: op(3, store.OpSucceeded), want: 0},
		}},
		{"reports before the journal are newer", []event{
			{recover: 1, want: 0},                              // recovered while Journal read it
			{finished: op(2, store.OpNeedsAttention), want: 1}, // a resume set aside
			{journal: []*store.Operation{op(1, store.OpNeedsAttention), op(2, store.OpNeedsAttention), op(3, store.OpNeedsAttention)}, want: 2},
			{finished: op(1, store.OpSucceeded), want: 2},
			{recover: 2, want: 1},
		}},
		{"nothing needs attention", []event{
			{journal: []*store.Operation{op(1, store.OpSucceeded)}, want: 0},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := New(Options{})
			for i, e := range tc.events {
				switch {
				case e.finished != nil:
					m.OperationFinished(e.finished)
				case e.recover != 0:
					m.Recovered(op(e.recover, store.OpNeedsAttention), "recover")
				case e.restart != 0:
					m.Recovered(op(e.restart, store.OpRunning), "restart")
				default:
					m.Journal(e.journal)
				}
				if got := testutil.ToFloat64(m.needsAttention); got != e.want {
					t.Fatalf("after event %d %+v: gauge %v, want %v", i, e, got, e.want)
				}
			}
		})
	}
}

// TestByKindAndKept: an operation that ends counts under its kind (a
// journal without one is a rollback), the kept gauge is what the engine
// says.
func TestByKindAndKept(t *testing.T) {
	m := New(Options{})
	m.OperationFinished(&store.Operation{ID: 1, Kind: store.KindUndo, State: store.OpSucceeded})
	m.OperationFinished(&store.Operation{ID: 2, State: store.OpRolledBack})
	m.KeptDatasets(3)
	got := series(t, m)
	for k, v := range map[string]float64{
		`volctl_operations_by_kind_total{kind="undo",state="succeeded"}`:       1,
		`volctl_operations_by_kind_total{kind="rollback",state="rolled_back"}`: 1,
		`volctl_operations_by_kind_total{kind="rollback",state="succeeded"}`:   0,
		`volctl_operations_total{state="succeeded"}`:                           1,
		`volctl_kept_datasets{}`: 3,
	} {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
}
