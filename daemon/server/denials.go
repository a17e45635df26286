package server

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/volctl/volctl/store"
)

// Denied calls cost the caller nothing and the journal a record each, so a
// caller without a role could grow the journal as fast as it can call. The
// guard records the first deniedBurst denials of each caller in a
// deniedWindow one by one, and counts the rest: one summary record per
// caller and window says how many more there were. A caller can so add at
// most deniedBurst+1 records a minute (about 12 KB, each record's text being
// capped by store.SafeText), whatever it sends.
const (
	// deniedBurst is how many denials of one caller a window records one
	// by one: enough to see what someone was trying.
	deniedBurst = 10
	// deniedWindow is the window; its summary is written when it ends.
	deniedWindow     = time.Minute
	deniedWindowText = "minute" // what the summary calls deniedWindow
	// deniedCallers bounds the callers tracked at once; past it, windows
	// that have nothing left to summarise are forgotten early.
	deniedCallers = 1024
)

// denials is the per-caller state of the denied-call limit. The zero value
// is ready.
type denials struct {
	mu sync.Mutex
	by map[string]*denialWindow
}

type denialWindow struct {
	start      time.Time
	n          int // denials in the window, recorded or not
	who, role  string
	result     string
	suppressed map[string]int // method -> denials not recorded one by one
	timer      *time.Timer
}

func (w *denialWindow) unrecorded() int {
	n := 0
	for _, c := range w.suppressed {
		n += c
	}
	return n
}

// summary is the record that stands for the denials a window did not
// record one by one.
func (w *denialWindow) summary(now time.Time) store.AuditRecord {
	n := w.unrecorded()
	var methods []string
	for _, m := range slices.Sorted(maps.Keys(w.suppressed)) {
		methods = append(methods, fmt.Sprintf("%s×%d", trimMethod(m), w.suppressed[m]))
	}
	method := "(several)"
	if len(w.suppressed) == 1 {
		for m := range w.suppressed {
			method = m
		}
	}
	return store.AuditRecord{Time: now, Who: w.who, Role: w.role, Method: method, Result: w.result,
		Detail: fmt.Sprintf("%d more denied calls from %s in the last %s (since %s), not recorded one by one: %s",
			n, w.who, deniedWindowText, w.start.UTC().Format(time.RFC3339), strings.Join(methods, ", "))}
}

// denied audits a denied call of caller key: one by one within the burst,
// counted past it. rec is the record the call would get.
func (g *Guard) denied(key string, rec store.AuditRecord) {
	now := g.clock()
	d := &g.denials
	d.mu.Lock()
	if d.by == nil {
		d.by = map[string]*denialWindow{}
	}
	w := d.by[key]
	var late *store.AuditRecord
	if w != nil && now.Sub(w.start) >= deniedWindow {
		if w.unrecorded() > 0 {
			s := w.summary(now)
			late = &s
		}
		if w.timer != nil {
			w.timer.Stop()
		}
		delete(d.by, key)
		w = nil
	}
	if w == nil {
		if len(d.by) >= deniedCallers {
			d.forgetQuietLocked(now)
		}
		w = &denialWindow{start: now, who: rec.Who, role: rec.Role, result: rec.Result, suppressed: map[string]int{}}
		d.by[key] = w
	}
	w.n++
	record := w.n <= deniedBurst
	if !record {
		w.suppressed[rec.Method]++
		if w.timer == nil {
			start := w.start
			w.timer = time.AfterFunc(deniedWindow-now.Sub(start), func() { g.summarise(key, start) })
		}
	}
	d.mu.Unlock()
	if late != nil {
		g.audit(*late)
	}
	if record {
		g.audit(rec)
		g.Log.Warn("call denied", "who", rec.Who, "role", rec.Role, "method", rec.Method, "result", rec.Result)
	}
}

// forgetQuietLocked drops the windows that have ended with nothing to
// summarise.
func (d *denials) forgetQuietLocked(now time.Time) {
	for k, w := range d.by {
		if now.Sub(w.start) >= deniedWindow && w.unrecorded() == 0 {
			delete(d.by, k)
		}
	}
}

// summarise writes the summary of caller key's window that began at start,
// when it ends (from its timer).
func (g *Guard) summarise(key string, start time.Time) {
	d := &g.denials
	d.mu.Lock()
	w := d.by[key]
	if w == nil || !w.start.Equal(start) {
		d.mu.Unlock()
		return
	}
	delete(d.by, key)
	rec := w.summary(g.clock())
	d.mu.Unlock()
	if w.unrecorded() > 0 {
		g.audit(rec)
		g.Log.Warn("calls denied", "who", rec.Who, "not_recorded_one_by_one", w.unrecorded())
	}
}

// Flush writes the summaries of the denials counted but not yet written,
// and stops their timers. The daemon calls it when it stops, before it
// closes the journal.
func (g *Guard) Flush() {
	d := &g.denials
	d.mu.Lock()
	var recs []store.AuditRecord
	now := g.clock()
	for k, w := range d.by {
		if w.timer != nil {
			w.timer.Stop()
		}
		if w.unrecorded() > 0 {
			recs = append(recs, w.summary(now))
		}
		delete(d.by, k)
	}
	d.mu.Unlock()
	for _, r := range recs {
		g.audit(r)
	}
}

func (g *Guard) clock() time.Time {
	if g.now != nil {
		return g.now()
	}
	return time.Now()
}
