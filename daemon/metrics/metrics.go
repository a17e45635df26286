// Package metrics exposes volctld's Prometheus metrics: operations by
// result, the operations that need attention now, step durations, the LU
// outage window, compensations, recoveries and the build. It implements
// engine.Observer.
//
// Every label value volctld can report is created at start, so each series
// exists (at 0) before its first event: an alert on
// volctl_operations_total{state="needs_attention"} or on
// volctl_operations_needs_attention has a series to compare from the first
// scrape on, not only after the first failure.
package metrics

import (
	"net/http"
	"runtime"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/volctl/volctl/store"
)

// Metric names, one block so the README and the tests name the same ones.
const (
	NameOperations     = "volctl_operations_total"
	NameNeedsAttention = "volctl_operations_needs_attention"
	NameSteps          = "volctl_step_duration_seconds"
	NameOutage         = "volctl_outage_window_seconds"
	NameCompensations  = "volctl_compensations_total"
	NameRecoveries     = "volctl_recoveries_total"
	NameBuildInfo      = "volctl_build_info"
	// NameOperationsByKind counts what NameOperations counts by kind too
	// (rollback, undo, forget; issue 22): a new name, so that the label
	// set of NameOperations stays as it was.
	NameOperationsByKind = "volctl_operations_by_kind_total"
	// NameKept is the number of kept datasets (state kept) in the journal.
	NameKept = "volctl_kept_datasets"
)

// Label values known before anything happens.
var (
	// endStates are the states an operation ends in (store.OpState.Terminal):
	// the engine reports an operation when it reaches one of them.
	endStates = []store.OpState{store.OpSucceeded, store.OpRolledBack, store.OpNeedsAttention, store.OpResolved}
	// stepEnds are the states a step is reported in when it stops running
	// (forward: done or failed; backward: compensated or failed).
	stepEnds = []store.StepState{store.StepDone, store.StepFailed, store.StepCompensated}
	// recoveryKinds are engine's "restart" (resumed at start) and
	// "recover" (retried by volctl recover).
	recoveryKinds = []string{"restart", "recover"}
	// opKinds are the operations' kinds.
	opKinds = []string{store.KindRollback, store.KindUndo, store.KindForget}
)

// Options are what the metrics need to know of the daemon at start.
type Options struct {
	// Version and Platform label volctl_build_info.
	Version  string
	Platform string
	// Steps are the names of every step the platform's sagas can have; each
	// gets its duration series at start.
	Steps []string
	// MaxDuration is the longest a step is expected to take (the longest
	// configured command timeout): the step and outage histograms have
	// buckets up to and including it.
	MaxDuration time.Duration
}

// Metrics holds the collectors and their registry.
type Metrics struct {
	reg            *prometheus.Registry
	operations     *prometheus.CounterVec
	needsAttention prometheus.Gauge
	steps          *prometheus.HistogramVec
	outage         prometheus.Histogram
	compensations  prometheus.Counter
	recoveries     *prometheus.CounterVec
	byKind         *prometheus.CounterVec
	kept           prometheus.Gauge

	// attention is the set behind the needs-attention gauge (a set, not a
	// count, so the journal's view at start and the engine's reports can
	// overlap without counting an operation twice). touched holds the
	// operations the engine reported before Journal ran: its report is
	// newer than whatever Journal read. It is nil after Journal.
	mu        sync.Mutex
	attention map[uint64]struct{}
	touched   map[uint64]struct{}
}

// minBucket is the first bucket bound: the quickest commands (a zfs get)
// take a few milliseconds.
const minBucket = 10 * time.Millisecond

// Buckets returns bucket bounds, in seconds, doubling from 10 ms and ending
// with top itself, so the largest finite bucket is exactly the longest
// configured timeout (a step that ran into it falls in that bucket, one
// that took longer still, retries and all, in +Inf).
func Buckets(top time.Duration) []float64 {
	var out []float64
	for b := minBucket; b < top; b *= 2 {
		out = append(out, b.Seconds())
	}
	if top < minBucket {
		top = minBucket
	}
	return append(out, top.Seconds())
}

// New registers the collectors on a fresh registry and creates every
// series whose label values are known now.
func New(o Options) *Metrics {
	if o.MaxDuration <= 0 {
		o.MaxDuration = 2 * time.Minute // the engine's default command timeout
	}
	buckets := Buckets(o.MaxDuration)
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		operations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: NameOperations, Help: "Operations that ended, by final state.",
		}, []string{"state"}),
		needsAttention: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: NameNeedsAttention, Help: "Operations in the journal that need attention now (volctl recover ID).",
		}),
		steps: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: NameSteps, Help: "Duration of saga steps, by step and outcome.",
			Buckets: buckets,
		}, []string{"step", "state"}),
		outage: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: NameOutage, Help: "How long the LU was away: delete-lu start until back with its views.",
			Buckets: buckets,
		}),
		compensations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: NameCompensations, Help: "Operations that were compensated (undone) after a failure.",
		}),
		recoveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: NameRecoveries, Help: "Operations resumed at start (restart) or retried (recover).",
		}, []string{"how"}),
		byKind: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: NameOperationsByKind, Help: "Operations that ended, by kind (rollback, undo, forget) and final state.",
		}, []string{"kind", "state"}),
		kept: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: NameKept, Help: "Kept datasets in the journal (rollback --keep, undo) that are neither undone nor forgotten.",
		}),
		attention: map[uint64]struct{}{},
		touched:   map[uint64]struct{}{},
	}
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: NameBuildInfo, Help: "Always 1: the version, Go version and platform of this volctld.",
	}, []string{"version", "goversion", "platform"})
	build.WithLabelValues(o.Version, runtime.Version(), o.Platform).Set(1)
	for _, s := range endStates {
		m.operations.WithLabelValues(string(s))
		for _, k := range opKinds {
			m.byKind.WithLabelValues(k, string(s))
		}
	}
	for _, name := range o.Steps {
		for _, s := range stepEnds {
			m.steps.WithLabelValues(name, string(s))
		}
	}
	for _, how := range recoveryKinds {
		m.recoveries.WithLabelValues(how)
	}
	m.reg.MustRegister(m.operations, m.needsAttention, m.steps, m.outage, m.compensations, m.recoveries, m.byKind, m.kept, build,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry is what Handler serves (tests gather from it).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Journal sets the needs-attention gauge from the journal's operations (all
// of them or only those that need attention): the ones left from before
// this start, and those the start itself set aside. The engine may already
// be running when it is called; what it reported since is newer than ops
// and wins.
func (m *Metrics) Journal(ops []*store.Operation) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, op := range ops {
		if _, reported := m.touched[op.ID]; reported || op.State != store.OpNeedsAttention {
			continue
		}
		m.attention[op.ID] = struct{}{}
	}
	m.touched = nil
	m.needsAttention.Set(float64(len(m.attention)))
}

// attend records that op needs attention (or no longer does).
func (m *Metrics) attend(id uint64, needs bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.touched != nil {
		m.touched[id] = struct{}{}
	}
	if needs {
		m.attention[id] = struct{}{}
	} else {
		delete(m.attention, id)
	}
	m.needsAttention.Set(float64(len(m.attention)))
}

// StepFinished implements engine.Observer.
func (m *Metrics) StepFinished(step string, state store.StepState, d time.Duration) {
	m.steps.WithLabelValues(step, string(state)).Observe(d.Seconds())
}

// OperationFinished implements engine.Observer.
func (m *Metrics) OperationFinished(op *store.Operation) {
	m.operations.WithLabelValues(string(op.State)).Inc()
	kind := op.Kind
	if kind == "" {
		kind = store.KindRollback
	}
	m.byKind.WithLabelValues(kind, string(op.State)).Inc()
	m.attend(op.ID, op.State == store.OpNeedsAttention)
	if !op.OutageStart.IsZero() && op.OutageEnd.After(op.OutageStart) {
		m.outage.Observe(op.OutageEnd.Sub(op.OutageStart).Seconds())
	}
	for _, s := range op.Steps {
		if s.State == store.StepCompensated {
			m.compensations.Inc()
			break
		}
	}
}

// Recovered implements engine.Observer. A recovered operation leaves
// needs-attention while it runs; OperationFinished puts it back if it ends
// there again.
func (m *Metrics) Recovered(op *store.Operation, how string) {
	m.recoveries.WithLabelValues(how).Inc()
	if how == "recover" {
		m.attend(op.ID, false)
	}
}

// KeptDatasets implements engine.KeptObserver: the datasets kept now.
func (m *Metrics) KeptDatasets(n int) { m.kept.Set(float64(n)) }
