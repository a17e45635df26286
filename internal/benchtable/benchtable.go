// Package benchtable turns one run of volctl's benchmarks (the output of
// `go test -bench`) into issue 24's table: each figure as a ratio against
// its target, so that one run says which targets it met.
//
// The figures come from metrics the benchmarks report (b.ReportMetric);
// a ratio of two figures is taken from the same run (the same benchmark
// binary, the same minutes), never from figures measured apart.
package benchtable

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"golang.org/x/perf/benchfmt"
)

// Results holds the metrics of one run: benchmark name (without the
// "Benchmark" prefix and the -GOMAXPROCS suffix) -> unit -> value.
type Results map[string]map[string]float64

// Read parses `go test -bench` output. Lines that are not benchmark
// results (test logs, PASS, ok) are skipped, as benchfmt does; a result
// line that does not parse is an error, so a broken run is not read as a
// run that measured nothing.
func Read(r io.Reader) (Results, error) {
	res := Results{}
	br := benchfmt.NewReader(r, "bench output")
	for br.Scan() {
		switch rec := br.Result(); rec := rec.(type) {
		case *benchfmt.SyntaxError:
			return nil, fmt.Errorf("benchmark output: %w", rec)
		case *benchfmt.Result:
			name := strings.TrimPrefix(string(rec.Name.Full()), "Benchmark")
			if i := strings.LastIndexByte(name, '-'); i > 0 && allDigits(name[i+1:]) {
				name = name[:i]
			}
			m := res[name]
			if m == nil {
				m = map[string]float64{}
				res[name] = m
			}
			for _, v := range rec.Values {
				// Reader tidies units ("ns/op" to "sec/op"); the
				// metrics are looked up as the benchmark named them.
				if v.OrigUnit != "" {
					m[v.OrigUnit] = v.OrigValue
				} else {
					m[v.Unit] = v.Value
				}
			}
		}
	}
	if err := br.Err(); err != nil {
		return nil, err
	}
	return res, nil
}

func allDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// A Row is one figure of the table: how it is computed and its target.
type Row struct {
	Measure string
	// Value computes the figure from the run; missing names what the run
	// lacked (a benchmark or a metric) when it cannot.
	Value func(Results) (v float64, detail string, missing string)
	// Max is the target (the figure must be at most Max); 0: report only.
	Max  float64
	Unit string // "×" for a ratio, "ms"
}

// metric returns one metric, or what is missing.
func (r Results) metric(bench, unit string) (float64, string) {
	m, ok := r[bench]
	if !ok {
		return 0, "benchmark " + bench
	}
	v, ok := m[unit]
	if !ok {
		return 0, fmt.Sprintf("metric %s of %s", unit, bench)
	}
	return v, ""
}

// metricRow is one metric as the figure; detail shows a second metric.
func metricRow(bench, unit, detailUnit string) func(Results) (float64, string, string) {
	return func(r Results) (float64, string, string) {
		v, miss := r.metric(bench, unit)
		if miss != "" {
			return 0, "", miss
		}
		detail := ""
		if d, miss := r.metric(bench, detailUnit); miss == "" {
			detail = fmt.Sprintf("%s: %s", detailUnit, ms(d))
			if !strings.Contains(detailUnit, "ms") {
				detail = fmt.Sprintf("%s: %g", detailUnit, d)
			}
		}
		return v, detail, ""
	}
}

func ms(v float64) string {
	if v >= 1000 {
		return fmt.Sprintf("%.2f s", v/1000)
	}
	return fmt.Sprintf("%.1f ms", v)
}

// Issue24 is the table of issue 24 ("Outage windows under load").
// BenchmarkParallelRatios runs one rollback alone and 64 at once in the
// same run and reports their ratios; BenchmarkJournalYears builds a
// 10,000-operation journal and times a rollback's window with and without
// 8 readers of it. Rows with Max 0 are reported, not judged.
var Issue24 = []Row{
	{Measure: "64 independent rollbacks at once: each volume's outage, against one alone",
		Value: metricRow("ParallelRatios/sched=default", "outage-ratio", "outage-ms/volume"),
		Max:   3, Unit: "×"},
	{Measure: "64 at once: the worst volume's outage, against one alone",
		Value: metricRow("ParallelRatios/sched=default", "max-outage-ratio", "max-outage-ms"),
		Unit:  "×"},
	{Measure: "64 at once: wall time, against one alone",
		Value: metricRow("ParallelRatios/sched=default", "wall-ratio", "wall-ms/batch"),
		Max:   16, Unit: "×"},
	{Measure: "group of 8 disks, 50 ms per command: outage, against one volume's",
		Value: metricRow("RollbackGroup/latency=50ms", "outage-ratio", "group-outage-ms/op"),
		Max:   1.2, Unit: "×"},
	{Measure: "group of 8 disks, 5 ms per command: outage, against one volume's",
		Value: metricRow("RollbackGroup/latency=5ms", "outage-ratio", "group-outage-ms/op"),
		Max:   1.5, Unit: "×"},
	{Measure: "that group's round: 8 simulated commands at once with no latency, against one alone",
		Value: metricRow("RollbackGroup/latency=5ms", "round-ratio", "round-ms"),
		Unit:  "×"},
	{Measure: "daemon overhead per rollback (wall minus the commands' time)",
		Value: metricRow("Rollback", "overhead-ms/op", "wall-ms/op"),
		Max:   5, Unit: "ms"},
	{Measure: "outage window with 8 readers (history --volume, no match) of a 10k-operation journal, against none",
		Value: metricRow("JournalYears", "window-ratio", "window-8readers-ms"),
		Max:   1.2, Unit: "×"},
	{Measure: "outage window with 8 readers (history, the newest 50) of that journal, against none",
		Value: metricRow("JournalYears", "window-ratio-recent", "window-8recent-ms"),
		Max:   1.2, Unit: "×"},
	{Measure: "that journal: history --volume with no match",
		Value: metricRow("JournalYears", "nomatch-ms", "journal-MB"),
		Unit:  "ms"},
	{Measure: "that journal: volctld's start (open and recovery scan)",
		Value: metricRow("JournalYears", "startup-ms", "startup-open-ms"),
		Unit:  "ms"},
}

// Write prints the table in Markdown and returns how many targets were
// missed or could not be computed.
func Write(w io.Writer, rows []Row, r Results) (missed int) {
	fmt.Fprintln(w, "| measure | this run | target | |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, row := range rows {
		v, detail, missing := row.Value(r)
		if missing != "" {
			missed++
			fmt.Fprintf(w, "| %s | not measured: the run has no %s | %s | MISSING |\n", row.Measure, missing, target(row))
			continue
		}
		fig := fmt.Sprintf("%.2f %s", v, row.Unit)
		if row.Unit == "ms" {
			fig = fmt.Sprintf("%.1f ms", v)
		}
		if detail != "" {
			fig += " (" + detail + ")"
		}
		verdict := "met"
		switch {
		case row.Max == 0:
			verdict = "reported"
		case v > row.Max:
			verdict = "MISSED"
			missed++
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", row.Measure, fig, target(row), verdict)
	}
	return missed
}

func target(row Row) string {
	if row.Max == 0 {
		return "-"
	}
	return fmt.Sprintf("≤ %g %s", row.Max, row.Unit)
}

// Names lists the benchmarks of a run, sorted (for a message that says
// what the run did have).
func (r Results) Names() []string {
	var ns []string
	for n := range r {
		ns = append(ns, n)
	}
	sort.Strings(ns)
	return ns
}
