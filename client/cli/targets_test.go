package cli

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"

	v1 "github.com/volctl/volctl/proto/volctl/v1"
)

// TestOpShowNamesEveryVolume: op show's header and a followed
// operation's result name every volume of a group (the snapshots), and
// one volume as before; a daemon without the lists gives the plan's group.
func TestOpShowNamesEveryVolume(t *testing.T) {
	group := &v1.Operation{Id: 3, Kind: "rollback", Volume: "pool/idisk0", Snapshot: "pool/idisk0@g1",
		Volumes: []string{"pool/idisk0", "pool/idisk1"}, Snapshots: []string{"pool/idisk0@g1", "pool/idisk1@g1"}}
	older := &v1.Operation{Id: 3, Kind: "rollback", Volume: "pool/idisk0", Snapshot: "pool/idisk0@g1",
		Plan: &v1.Plan{Group: []string{"pool/idisk0@g1", "pool/idisk1@g1"}}}
	one := &v1.Operation{Id: 1, Kind: "rollback", Volume: "pool/idisk0", Snapshot: "pool/idisk0@snap1"}
	for _, op := range []*v1.Operation{group, older, one} {
		op.State = v1.OperationState_OPERATION_STATE_SUCCEEDED
	}
	for _, tc := range []struct {
		name string
		op   *v1.Operation
		want []string
	}{
		{"group", group, []string{"Operation 3: rollback 2 volumes -> pool/idisk0@g1, pool/idisk1@g1\n",
			"Operation 3 succeeded: 2 volumes -> pool/idisk0@g1, pool/idisk1@g1 in "}},
		{"group from an older daemon", older, []string{"Operation 3: rollback 2 volumes -> pool/idisk0@g1, pool/idisk1@g1\n",
			"Operation 3 succeeded: 2 volumes -> pool/idisk0@g1, pool/idisk1@g1 in "}},
		{"one volume", one, []string{"Operation 1: rollback pool/idisk0 -> pool/idisk0@snap1\n",
			"Operation 1 succeeded: pool/idisk0 -> pool/idisk0@snap1 in "}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			a := &app{stdout: &out, utc: true}
			a.printOperation(tc.op)
			a.printResult(tc.op)
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("op show lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
}

// TestOpShowEveryConsent: every option and consent of a rollback
// (RollbackOptions) and of recover (RecoverOptions) that an operation
// was given shows in op show as the flag that gives it, a flag of the
// command that sends it; none given is "options:   none".
func TestOpShowEveryConsent(t *testing.T) {
	root := NewCommand(io.Discard, io.Discard)
	rollback, _, _ := root.Find([]string{"rollback"})
	recoverCmd, _, _ := root.Find([]string{"recover"})
	var out bytes.Buffer
	(&app{stdout: &out}).printOperation(&v1.Operation{Id: 1, Options: &v1.RollbackOptions{}})
	if !strings.Contains(out.String(), "  options:   none\n") || strings.Contains(out.String(), "recovered:") {
		t.Errorf("nothing given:\n%s", out.String())
	}
	for _, holder := range []struct {
		msg  protoreflect.Message
		cmd  string
		line string
	}{
		{(&v1.RollbackOptions{}).ProtoReflect(), "rollback", "  options:   "},
		{(&v1.RecoverOptions{}).ProtoReflect(), "recover", "  recovered: twice, with "},
	} {
		fields := holder.msg.Descriptor().Fields()
		for i := 0; i < fields.Len(); i++ {
			fd := fields.Get(i)
			t.Run(string(fd.Name()), func(t *testing.T) {
				op := &v1.Operation{Id: 1, Recoveries: 2, Options: &v1.RollbackOptions{}, RecoverOptions: &v1.RecoverOptions{}}
				m := op.Options.ProtoReflect()
				if holder.cmd == "recover" {
					m = op.RecoverOptions.ProtoReflect()
				}
				var want string
				switch {
				case fd.IsList():
					m.Mutable(fd).List().Append(protoreflect.ValueOfString("kz-host1"))
					want = "--skip-peer kz-host1"
				case fd.Kind() == protoreflect.BoolKind:
					m.Set(fd, protoreflect.ValueOfBool(true))
					want = "--" + strings.ReplaceAll(string(fd.Name()), "_", "-")
				default:
					t.Fatalf("field %s of kind %s: teach givenFlags and this test", fd.Name(), fd.Kind())
				}
				var out bytes.Buffer
				(&app{stdout: &out}).printOperation(op)
				if !strings.Contains(out.String(), holder.line+want+"\n") {
					t.Errorf("op show lacks %q:\n%s", holder.line+want, out.String())
				}
				cmd := rollback
				if holder.cmd == "recover" {
					cmd = recoverCmd
				}
				if cmd.Flags().Lookup(strings.Fields(strings.TrimPrefix(want, "--"))[0]) == nil {
					t.Errorf("op show names %s, which volctl %s does not have", want, holder.cmd)
				}
			})
		}
	}
}

// TestTimesWord: "recovered: 1 times" reads "once".
func TestTimesWord(t *testing.T) {
	for n, want := range map[uint32]string{1: "once", 2: "twice", 3: "3 times", 12: "12 times"} {
		if got := timesWord(n); got != want {
			t.Errorf("timesWord(%d) = %q, want %q", n, got, want)
		}
	}
}
