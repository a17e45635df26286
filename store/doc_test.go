package store

import (
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// drawnTree is the bucket tree the package doc draws: the path of each
// bucket ("v1/meta") and the names of the keys, placeholders ("<id>") left
// out.
func drawnTree(t *testing.T, files []*ast.File) (buckets, keys []string) {
	t.Helper()
	var doc string
	for _, f := range files {
		if f.Doc != nil {
			doc += f.Doc.Text()
		}
	}
	_, tree, ok := strings.Cut(doc, "Bucket tree")
	if !ok {
		t.Fatal("the package doc draws no bucket tree (no \"Bucket tree\")")
	}
	var stack []string // the buckets the current line is in, by depth
	for line := range strings.Lines(tree) {
		if !strings.HasPrefix(line, "\t") {
			if len(stack) > 0 && strings.TrimSpace(line) == "" {
				break // the end of the drawing
			}
			continue
		}
		body := strings.TrimPrefix(strings.TrimRight(line, "\n"), "\t")
		name := strings.TrimSpace(body)
		depth := (len(body) - len(strings.TrimLeft(body, " "))) / 2
		if depth > len(stack) {
			continue // a key's text, wrapped
		}
		stack = stack[:depth]
		if b, ok := strings.CutSuffix(name, "/"); ok && !strings.Contains(b, " ") {
			stack = append(stack, b)
			buckets = append(buckets, strings.Join(stack, "/"))
			continue
		}
		k, _, _ := strings.Cut(name, " ")
		if !strings.HasPrefix(k, "<") {
			keys = append(keys, k)
		}
		stack = append(stack, "") // the key's text may continue, deeper
	}
	return buckets, keys
}

// nameVars are the []byte("...") vars of the block that declares the
// bucket names (bucketRoot), by variable name.
func nameVars(t *testing.T, files []*ast.File) map[string]string {
	t.Helper()
	for _, f := range files {
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.VAR {
				continue
			}
			vars := map[string]string{}
			for _, s := range g.Specs {
				vs := s.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if i >= len(vs.Values) {
						continue
					}
					call, ok := vs.Values[i].(*ast.CallExpr)
					if !ok || len(call.Args) != 1 {
						continue
					}
					if at, ok := call.Fun.(*ast.ArrayType); !ok || at.Len != nil || types.ExprString(at.Elt) != "byte" {
						continue
					}
					lit, ok := call.Args[0].(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						continue
					}
					v, err := strconv.Unquote(lit.Value)
					if err != nil {
						t.Fatal(err)
					}
					vars[n.Name] = v
				}
			}
			if _, ok := vars["bucketRoot"]; ok {
				return vars
			}
		}
	}
	t.Fatal("no var block declares bucketRoot")
	return nil
}

// sources parses the package's files, tests left out, with comments.
func sources(t *testing.T) []*ast.File {
	t.Helper()
	ents, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, e.Name(), nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	return files
}

// TestDocDrawsEveryBucket fails when the bucket tree in the package doc
// misses a bucket or key name of the name block, draws a bucket that is
// not one, or differs from the buckets a new journal has.
func TestDocDrawsEveryBucket(t *testing.T) {
	files := sources(t)
	buckets, keys := drawnTree(t, files)
	vars := nameVars(t, files)
	var names []string
	for _, b := range buckets {
		names = append(names, b[strings.LastIndex(b, "/")+1:])
	}
	for n, v := range vars {
		if !slices.Contains(names, v) && !slices.Contains(keys, v) {
			t.Errorf("%s (%q) is not in the bucket tree of the package doc", n, v)
		}
	}
	for _, b := range names {
		found := false
		for _, v := range vars {
			found = found || v == b
		}
		if !found {
			t.Errorf("the package doc draws bucket %s/, which no name var declares", b)
		}
	}

	// A new journal has every bucket drawn, and no other.
	db := openTest(t)
	var real []string
	var walk func(path string, b *bolt.Bucket)
	walk = func(path string, b *bolt.Bucket) {
		real = append(real, path)
		_ = b.ForEach(func(k, v []byte) error {
			if v == nil {
				walk(path+"/"+string(k), b.Bucket(k))
			}
			return nil
		})
	}
	if err := db.bolt.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			walk(string(name), b)
			return nil
		})
	}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(real)
	drawn := slices.Sorted(slices.Values(buckets))
	if !slices.Equal(real, drawn) {
		t.Errorf("a new journal has buckets %q; the package doc draws %q", real, drawn)
	}
}
