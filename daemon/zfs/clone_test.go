package zfs

import (
	"context"
	"reflect"
	"strings"
	"testing"
)

func TestParseLocalProps(t *testing.T) {
	for _, tc := range []struct {
		name, out string
		want      map[string]string
		err       string
	}{
		{name: "none", out: "", want: map[string]string{}},
		{name: "some", out: "compression\tlz4\nvolctl:note\ta b\tc\n", err: "line 2"},
		{name: "user and native", out: "compression\tlz4\nsync\talways\ncom.example:x\tone two\n",
			want: map[string]string{"compression": "lz4", "sync": "always", "com.example:x": "one two"}},
		{name: "empty value", out: "com.example:x\t\n", want: map[string]string{"com.example:x": ""}},
		{name: "no tab", out: "compression lz4\n", err: `line 1 is not "property<TAB>value": "compression lz4"`},
		{name: "blank line inside", out: "sync\talways\n\ncompression\tlz4\n", err: "line 2"},
		{name: "twice", out: "sync\talways\nsync\tdisabled\n", err: `property "sync" printed twice`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseLocalProps([]byte(tc.out))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCloneArgvIsStable(t *testing.T) {
	z := Cmd{Path: "/usr/sbin/zfs"}
	got := z.CloneArgv("p/v.kept-1-20261207T000000Z@s1", "p/v", map[string]string{"sync": "always", "compression": "lz4", "a:b": "x=y"})
	want := []string{"/usr/sbin/zfs", "clone", "-o", "a:b=x=y", "-o", "compression=lz4", "-o", "sync=always", "p/v.kept-1-20261207T000000Z@s1", "p/v"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	if err := z.DestroyTree(context.Background(), "pool"); err == nil || !strings.Contains(err.Error(), "root dataset") {
		t.Fatalf("DestroyTree(pool) = %v, want a refusal", err)
	}
	if err := z.DestroyTree(context.Background(), "pool/v@s"); err == nil {
		t.Fatal("DestroyTree of a snapshot name was not refused")
	}
}
