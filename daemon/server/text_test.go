package server

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/store"
)

func TestEscapeInvalid(t *testing.T) {
	for in, want := range map[string]string{
		"plain":           "plain",
		"disk \xff\xfe 0": `disk \xff\xfe 0`,
		"ünïcode ok":      "ünïcode ok",
		"cut \xe2\x82":    `cut \xe2\x82`,
	} {
		if got := escapeInvalid(in); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

// An LU alias with invalid UTF-8 (the platform allows any bytes) must not
// break the reply: proto3 refuses to marshal such a string.
func TestRepliesWithInvalidUTF8FromThePlatform(t *testing.T) {
	v := engine.Volume{Name: "pool/idisk0", LUs: []store.LU{{GUID: "600144F0A613C900000054521D550001", Alias: "disk\xff", Views: []store.View{{HostGroup: "hg\xfe"}}}},
		Zones: []store.Zone{{Name: "kz1", Storage: []string{"iscsi://h/\xc3"}}}}
	if _, err := proto.Marshal(toVolume(v)); err == nil {
		t.Fatal("the unescaped reply marshals: the test proves nothing")
	}
	m := validText(toVolume(v))
	if _, err := proto.Marshal(m); err != nil {
		t.Fatalf("escaped reply: %v", err)
	}
	if a := m.GetLogicalUnits()[0].GetAlias(); a != `disk\xff` {
		t.Errorf("alias %q: want the byte escaped, not dropped", a)
	}
	op := &store.Operation{ID: 1, Volume: "pool/idisk0", Warnings: []string{"w\xff"},
		Steps: []store.Step{{Name: "delete-lu", Commands: []store.Command{{Argv: []string{"/usr/sbin/stmfadm"}, Stderr: "bad \xff", Stdout: strings.Repeat("x", 3*maxReplyOutput)}}}}}
	o := validText(toOperation(op, true))
	b, err := proto.Marshal(o)
	if err != nil {
		t.Fatalf("operation: %v", err)
	}
	if len(b) > 2*maxReplyOutput {
		t.Errorf("a command's output was not capped in the reply: %d bytes", len(b))
	}
	if !strings.Contains(o.GetSteps()[0].GetCommands()[0].GetStdout(), "more bytes in the journal record") {
		t.Error("the cap does not say so")
	}
}
