// Package metrics exposes volctld's Prometheus metrics: operations by
// result, step durations, the LU outage window, compensations and
// recoveries. It implements engine.Observer.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/volctl/volctl/store"
)

// Metrics holds the collectors and their registry.
type Metrics struct {
	reg           *prometheus.Registry
	operations    *prometheus.CounterVec
	steps         *prometheus.HistogramVec
	outage        prometheus.Histogram
	compensations prometheus.Counter
	recoveries    *prometheus.CounterVec
}

// New registers the collectors on a fresh registry.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		operations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "volctl_operations_total", Help: "Operations that ended, by final state.",
		}, []string{"state"}),
		steps: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "volctl_step_duration_seconds", Help: "Duration of saga steps, by step and outcome.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
		}, []string{"step", "state"}),
		outage: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "volctl_outage_window_seconds", Help: "How long the LU was away: delete-lu start until back with its views.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
		}),
		compensations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "volctl_compensations_total", Help: "Operations that were compensated (undone) after a failure.",
		}),
		recoveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "volctl_recoveries_total", Help: "Operations resumed at start (restart) or retried (recover).",
		}, []string{"how"}),
	}
	m.reg.MustRegister(m.operations, m.steps, m.outage, m.compensations, m.recoveries,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// StepFinished implements engine.Observer.
func (m *Metrics) StepFinished(step string, state store.StepState, d time.Duration) {
	m.steps.WithLabelValues(step, string(state)).Observe(d.Seconds())
}

// OperationFinished implements engine.Observer.
func (m *Metrics) OperationFinished(op *store.Operation) {
	m.operations.WithLabelValues(string(op.State)).Inc()
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

// Recovered implements engine.Observer.
func (m *Metrics) Recovered(_ *store.Operation, how string) { m.recoveries.WithLabelValues(how).Inc() }
