package auth

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	_ "github.com/volctl/volctl/proto/volctl/v1"
)

func TestPolicyRole(t *testing.T) {
	p := Policy{OperatorUIDs: []int{0}, OperatorGroups: []string{"volctl-admin"}, OperatorSubjects: []string{"ops-1"},
		ViewerUIDs: []int{1001}, ViewerGroups: []string{"volctl"}, ViewerSubjects: []string{"CN=monitor,O=example"}}
	tests := []struct {
		name string
		id   Identity
		want Role
	}{
		{"root", Identity{Transport: "unix", UID: 0}, Operator},
		{"admin group", Identity{Transport: "unix", UID: 1002, Groups: []string{"staff", "volctl-admin"}}, Operator},
		{"viewer uid", Identity{Transport: "unix", UID: 1001}, Viewer},
		{"viewer group", Identity{Transport: "unix", UID: 1003, Groups: []string{"volctl"}}, Viewer},
		{"stranger", Identity{Transport: "unix", UID: 1004, Groups: []string{"users"}}, None},
		{"operator cert by CN", Identity{Transport: "tls", CN: "ops-1", Subject: "CN=ops-1"}, Operator},
		{"viewer cert by subject", Identity{Transport: "tls", CN: "monitor", Subject: "CN=monitor,O=example"}, Viewer},
		{"cert CN that is a uid-less name", Identity{Transport: "tls", CN: "volctl", Subject: "CN=volctl"}, None},
		{"unix uid does not match a subject", Identity{Transport: "unix", UID: 5, User: "ops-1"}, None},
		{"no transport", Identity{UID: 0}, None},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := p.Role(tc.id); got != tc.want {
				t.Errorf("Role(%+v) = %s, want %s", tc.id, got, tc.want)
			}
		})
	}
}

// TestEveryMethodHasARole walks the API's services: a method missing from
// the table would silently need operator; this makes adding one a decision.
func TestEveryMethodHasARole(t *testing.T) {
	readOnly := map[string]bool{"ListVolumes": true, "GetVolume": true, "ListSnapshots": true, "PlanRollback": true,
		"ListOperations": true, "GetOperation": true, "WatchOperation": true, "ListAudit": true, "GetStatus": true,
		"GetRequestStatus": true, "PlanUndo": true, "PlanForget": true, "ListKept": true, "CheckBoot": true, "PlanRescue": true}
	n := 0
	protoregistry.GlobalFiles.RangeFilesByPackage("volctl.v1", func(fd protoreflect.FileDescriptor) bool {
		for i := 0; i < fd.Services().Len(); i++ {
			sd := fd.Services().Get(i)
			for j := 0; j < sd.Methods().Len(); j++ {
				m := sd.Methods().Get(j)
				full := "/" + string(sd.FullName()) + "/" + string(m.Name())
				n++
				role, ok := methodRoles[full]
				if !ok {
					t.Errorf("%s has no entry in methodRoles", full)
					continue
				}
				want := Operator
				switch {
				case sd.Name() == "ZoneService":
					want = Peer // the storage host's volctld, and only it
				case readOnly[string(m.Name())]:
					want = Viewer
				}
				if role != want {
					t.Errorf("%s needs %s, want %s", full, role, want)
				}
			}
		}
		return true
	})
	if n < 12 {
		t.Fatalf("found only %d methods: is the API registered?", n)
	}
	if Required("/volctl.v1.Future/Unknown") != Operator {
		t.Error("an unknown method must need operator")
	}
}

func TestIdentityString(t *testing.T) {
	for _, tc := range []struct {
		id   Identity
		want string
	}{
		{Identity{Transport: "unix", UID: 65534, GID: 65534, User: "nobody"}, "uid=65534(nobody) gid=65534"},
		{Identity{Transport: "tls", Subject: "CN=ops-1"}, "cert:CN=ops-1"},
	} {
		if got := tc.id.String(); !strings.Contains(got, tc.want) {
			t.Errorf("%+v.String() = %q, want %q", tc.id, got, tc.want)
		}
	}
}

// TestAllowed: the ladder viewer < operator, and peer apart: a peer may
// call the zone service only, and nobody else may.
func TestAllowed(t *testing.T) {
	tests := []struct {
		role, need Role
		want       bool
	}{
		{Viewer, Viewer, true}, {Operator, Viewer, true}, {Viewer, Operator, false}, {None, Viewer, false},
		{Peer, Peer, true}, {Operator, Peer, false}, {Viewer, Peer, false},
		{Peer, Viewer, false}, {Peer, Operator, false}, {Peer, None, true}, {None, None, true},
	}
	for _, tt := range tests {
		if got := Allowed(tt.role, tt.need); got != tt.want {
			t.Errorf("Allowed(%s, %s) = %v, want %v", tt.role, tt.need, got, tt.want)
		}
	}
	if r := Required("/volctl.v1.ZoneService/ZoneAction"); r != Peer || !Mutating("/volctl.v1.ZoneService/ZoneAction") {
		t.Errorf("ZoneAction needs %s (mutating %v), want peer and audited", r, Mutating("/volctl.v1.ZoneService/ZoneAction"))
	}
	p := Policy{PeerSubjects: []string{"storage1"}, OperatorSubjects: []string{"storage1"}, OperatorUIDs: []int{0}}
	if r := p.Role(Identity{Transport: "tls", CN: "storage1", Subject: "CN=storage1"}); r != Peer {
		t.Errorf("a peer subject also listed as operator has role %s, want peer", r)
	}
	if r := p.Role(Identity{Transport: "unix", UID: 0}); r != Operator {
		t.Errorf("uid 0 has role %s", r)
	}
}
