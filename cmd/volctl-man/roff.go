package main

import (
	"fmt"
	"strings"
	"time"
)

// roff is a hand-written man page under construction: requests (.SH,
// .TP, ...) are written as they are, text through esc.
type roff struct{ b strings.Builder }

// th is the page's title line: NAME(SECTION), its date, source and manual.
func (r *roff) th(name, section string, date time.Time, source, manual string) {
	fmt.Fprintf(&r.b, ".TH %q %q %q %q %q\n", strings.ToUpper(name), section, date.Format("Jan 2006"), source, manual)
	r.b.WriteString(".nh\n.ad l\n")
}

// req writes a request line (".SH NAME", ".PP").
func (r *roff) req(line string) { r.b.WriteString(line + "\n") }

// text writes s, a paragraph's text: each line escaped.
func (r *roff) text(s string) {
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		r.b.WriteString(esc(l) + "\n")
	}
}

// code writes lines as they are, unfilled and indented (an example).
func (r *roff) code(lines []string) {
	r.b.WriteString(".RS 4\n.nf\n")
	for _, l := range lines {
		r.b.WriteString(esc(l) + "\n")
	}
	r.b.WriteString(".fi\n.RE\n")
}

func (r *roff) String() string { return r.b.String() }

// esc makes s safe as a line of roff text: a backslash is printed as one,
// '-' is a minus (so options and paths copy right), and a line never
// starts with a control character.
func esc(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}

// bold is s in bold, escaped.
func bold(s string) string { return `\fB` + esc(s) + `\fR` }

func splitLines(s string) []string { return strings.Split(strings.TrimRight(s, "\n"), "\n") }

// cutColon splits "0: text" into "0" and "text".
func cutColon(l string) (string, string, bool) {
	a, b, ok := strings.Cut(l, ": ")
	return a, b, ok
}
