// Package docsref checks that the repository's comments and documents cite
// only documents the repository has. The platform facts the code relies on
// live in docs/platform (docs/platform/README.md); a comment that points at
// a file outside the repository, at a document that does not exist, or at a
// section (§N) its document does not have is a broken promise to the next
// reader. TestRepository runs Check over the whole tree with `go test ./...`.
package docsref

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Problem is one citation that does not hold.
type Problem struct {
	File string // slash-separated, relative to the root
	Line int
	Msg  string
}

func (p Problem) String() string { return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg) }

// outside are the names of documents that live outside the repository (the
// project's original spec and design notes): a citation of one of them is
// always a problem, whatever follows it. (The slashes are written [/] so that
// a grep for the old paths over the tree does not find this line.)
var outside = regexp.MustCompile(`\.\.[/]shared|\bshared[/](?:spec|DESIGN|STYLE)|\bspec/[\w-]+\.md|\bspec §|\bplatform-matrix\b|\bcomstar-zfs\b|\blinux-tgt-zfs\b|\bkernel-zones(?:\.md\b|[ ]*§|[ ]+\d)|\bDESIGN\.md\b|\bSTYLE\.md\b`)

// mdRef is a cited Markdown document: a path or a bare name ending in .md.
// A URL is not a citation of this repository's files (urlBefore).
var mdRef = regexp.MustCompile(`(?:\.\./)*\w[\w./-]*\.md\b`)

// sectionRef is a section sign with its number, "§3" or "§3.2.1"; a range
// "§1.2-§1.10" is two of them.
var sectionRef = regexp.MustCompile(`§\s?(\d+(?:\.\d+)*)`)

// rfcRef starts a citation of an RFC, whose sections are not checked.
var rfcRef = regexp.MustCompile(`\bRFC ?\d+`)

// heading is a Markdown heading that starts with a section number:
// "## 3. Title", "### 3.2 Title".
var heading = regexp.MustCompile(`^#+\s+(\d+(?:\.\d+)*)\.?(?:\s|$)`)

// scanned says which files are read: source, scripts, documents and test
// scripts; not data (testdata's .txt and .golden hold platform output).
func scanned(name string) bool {
	switch filepath.Ext(name) {
	case ".go", ".md", ".txtar", ".sh", ".toml", ".proto", ".yaml", ".yml", ".xml", ".service":
		return true
	}
	return name == "Makefile"
}

// skipDir are directories never read: version control, build output.
func skipDir(name string) bool {
	return name == ".git" || name == "bin" || name == "node_modules"
}

// Check reads every scanned file under root, except those under the
// slash-separated paths in skip, and returns the citations that do not
// hold, sorted by file and line.
func Check(root string, skip ...string) ([]Problem, error) {
	c := &checker{root: root, sections: map[string]map[string]bool{}}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != root && skipDir(d.Name()) {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || !scanned(d.Name()) {
			return nil
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		for _, s := range skip {
			if rel == s || strings.HasPrefix(rel, s+"/") {
				return nil
			}
		}
		return c.file(rel)
	})
	sort.SliceStable(c.problems, func(i, j int) bool {
		if c.problems[i].File != c.problems[j].File {
			return c.problems[i].File < c.problems[j].File
		}
		return c.problems[i].Line < c.problems[j].Line
	})
	return c.problems, err
}

type checker struct {
	root     string
	problems []Problem
	// sections caches each document's numbered headings (nil: no such file).
	sections map[string]map[string]bool
}

func (c *checker) add(file string, line int, format string, a ...any) {
	c.problems = append(c.problems, Problem{File: file, Line: line, Msg: fmt.Sprintf(format, a...)})
}

// file checks one file. In code a § refers to the document cited last in
// the same run of comment lines ("//" or "#"), so that a list of sections
// may go on over several lines. In Markdown a § refers to the document cited
// just before it (nothing but spaces, backquotes, commas, "and" or other
// sections in between, also across a line break), and otherwise to the file
// itself.
func (c *checker) file(rel string) error {
	b, err := os.ReadFile(filepath.Join(c.root, filepath.FromSlash(rel)))
	if err != nil {
		return err
	}
	isMD := strings.HasSuffix(rel, ".md")
	var (
		ctx      string // the document cited; "" none, "-" outside or an RFC
		inBlock  bool   // the previous line was a comment line (code)
		fence    bool   // inside a fenced block of a Markdown file
		trailing bool   // the previous line ended with a citation (Markdown)
	)
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trim := strings.TrimSpace(line)
		if isMD && strings.HasPrefix(trim, "```") {
			fence = !fence
		}
		if isMD {
			if !trailing || !strings.HasPrefix(trim, "§") {
				ctx = rel
			}
		} else {
			block := strings.HasPrefix(trim, "//") || strings.HasPrefix(trim, "#")
			if !block || !inBlock {
				ctx = ""
			}
			inBlock = block
		}

		// The line's citations left to right, so that a § takes the
		// document named before it.
		type hit struct {
			at, end int
			kind    byte // 'o' outside, 'd' document, 's' section, 'r' RFC
			text    string
		}
		var hits []hit
		for _, ix := range outside.FindAllStringIndex(line, -1) {
			c.add(rel, n, "cites %q, a document outside the repository: cite docs/ (docs/platform/README.md)", line[ix[0]:ix[1]])
			hits = append(hits, hit{ix[0], ix[1], 'o', ""})
		}
		if fence {
			trailing = false
			continue // sample output, not prose
		}
		for _, ix := range mdRef.FindAllStringIndex(line, -1) {
			if !urlBefore(line, ix[0]) {
				hits = append(hits, hit{ix[0], ix[1], 'd', line[ix[0]:ix[1]]})
			}
		}
		for _, ix := range sectionRef.FindAllStringSubmatchIndex(line, -1) {
			hits = append(hits, hit{ix[0], ix[1], 's', line[ix[2]:ix[3]]})
		}
		for _, ix := range rfcRef.FindAllStringIndex(line, -1) {
			hits = append(hits, hit{ix[0], ix[1], 'r', ""})
		}
		slices.SortFunc(hits, func(a, b hit) int { return a.at - b.at })
		last := 0 // where the previous citation ended
		if isMD && ctx != rel {
			last = strings.Index(line, "§") // continued from the line before
		}
		for _, h := range hits {
			if isMD && h.kind == 's' && !joins(line[min(last, h.at):h.at]) {
				ctx = rel
			}
			switch h.kind {
			case 'o', 'r':
				ctx = "-" // an outside document (reported above), an RFC
			case 'd':
				if outside.MatchString(h.text) {
					ctx = "-" // reported above
					break
				}
				doc, ok := c.resolve(rel, h.text)
				if !ok {
					c.add(rel, n, "cites %s, which the repository does not have", h.text)
					ctx = "-"
					break
				}
				ctx = doc
			case 's':
				switch ctx {
				case "-":
				case "":
					c.add(rel, n, "§%s names no document: cite it as docs/platform/FILE.md §%s", h.text, h.text)
				default:
					if secs := c.headings(ctx); !secs[h.text] {
						c.add(rel, n, "%s has no section %s (no heading numbered %s)", ctx, h.text, h.text)
					}
				}
			}
			last = max(last, h.end)
		}
		trailing = len(hits) > 0 && joins(line[last:])
	}
	return sc.Err()
}

// joins reports whether the text between two citations keeps them one
// list: "docs/platform/zfs.md §3.1, §3.2 and §4", "§1.2-§1.10".
func joins(between string) bool {
	between = strings.ReplaceAll(between, "and", "")
	return strings.Trim(between, " \t`,;-") == ""
}

// urlBefore reports whether the match at i is part of a URL or of a path in
// another repository ("github.com/x/y/README.md").
func urlBefore(line string, i int) bool {
	start := strings.LastIndexAny(line[:i], " \t(`'\"<[") + 1
	w := line[start:i]
	return strings.Contains(w, "://") || strings.Contains(w, ".com/") || strings.Contains(w, ".org/")
}

// resolve finds the document a citation in file from names: a path is read
// from the root or from the citing file's directory; a bare name from the
// citing file's directory, the root, docs/platform or docs.
func (c *checker) resolve(from, name string) (string, bool) {
	dir := filepath.ToSlash(filepath.Dir(from))
	var tries []string
	if strings.Contains(name, "/") {
		tries = []string{name, dir + "/" + name}
	} else {
		tries = []string{dir + "/" + name, name, "docs/platform/" + name, "docs/" + name}
	}
	for _, t := range tries {
		t = filepath.ToSlash(filepath.Clean(t))
		if strings.HasPrefix(t, "../") {
			continue
		}
		if c.headings(t) != nil {
			return t, true
		}
	}
	return "", false
}

// headings returns the section numbers of doc's headings; nil when there is
// no such file.
func (c *checker) headings(doc string) map[string]bool {
	if s, ok := c.sections[doc]; ok {
		return s
	}
	b, err := os.ReadFile(filepath.Join(c.root, filepath.FromSlash(doc)))
	if err != nil {
		c.sections[doc] = nil
		return nil
	}
	s := map[string]bool{}
	fence := false
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fence = !fence
		}
		if m := heading.FindStringSubmatch(line); m != nil && !fence {
			s[m[1]] = true
		}
	}
	c.sections[doc] = s
	return s
}
