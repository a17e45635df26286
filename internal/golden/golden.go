// Package golden is the parsers' shared golden-file runner and fuzz seeding:
// testdata/PREFIX_*.txt holds a platform command's literal output (the
// samples of docs/platform/), testdata/PREFIX_*.golden the parser's result as
// JSON.
package golden

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the parsers' output")

// Parser turns one input into a value (or an error, which is golden too).
type Parser func([]byte) (any, error)

// Run checks every testdata/*.txt against its .golden file, choosing the
// parser by the file name's prefix (before the first '_'). With -update it
// rewrites the golden files.
func Run(t *testing.T, parsers map[string]Parser) {
	t.Helper()
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, in := range files {
		name := strings.TrimSuffix(filepath.Base(in), ".txt")
		t.Run(name, func(t *testing.T) {
			parse := parsers[strings.SplitN(name, "_", 2)[0]]
			if parse == nil {
				t.Fatalf("no parser for %s", in)
			}
			src, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			got := encode(t, parse, src)
			golden := strings.TrimSuffix(in, ".txt") + ".golden"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s mismatch (run with -update)\ngot:\n%s\nwant:\n%s", golden, got, want)
			}
		})
	}
}

func encode(t *testing.T, parse Parser, src []byte) []byte {
	t.Helper()
	v, err := parse(src)
	var res any = map[string]any{"result": v}
	if err != nil {
		res = map[string]any{"error": err.Error()}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "\t")
	if err := enc.Encode(res); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Seed adds every testdata input whose name starts with one of prefixes to
// the fuzz corpus (the spec literals).
func Seed(f *testing.F, prefixes ...string) {
	files, _ := filepath.Glob("testdata/*.txt")
	for _, p := range files {
		for _, pre := range prefixes {
			if strings.HasPrefix(filepath.Base(p), pre) {
				if b, err := os.ReadFile(p); err == nil {
					f.Add(b)
				}
				break
			}
		}
	}
}
