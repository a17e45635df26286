package auth

import "testing"

// TestReserved: root and operators on the unix socket (by uid, or by the
// effective gid's group), operators and peers over TLS may use the
// connections kept in reserve; viewers and callers without a role may not.
func TestReserved(t *testing.T) {
	p := Policy{OperatorUIDs: []int{1000}, OperatorGroups: []string{"storage"}, ViewerUIDs: []int{1001},
		OperatorSubjects: []string{"ops-1"}, ViewerSubjects: []string{"monitor"}, PeerSubjects: []string{"storage-1"}}
	tests := []struct {
		id   Identity
		want bool
	}{
		{Identity{Transport: "unix", UID: 0, GID: 0}, true},
		{Identity{Transport: "unix", UID: 1000, GID: 1000}, true},
		{Identity{Transport: "unix", UID: 1002, GID: 50, Groups: []string{"storage"}}, true},
		{Identity{Transport: "unix", UID: 1002, GID: 50, Groups: []string{"staff"}}, false},
		{Identity{Transport: "unix", UID: 1001, GID: 1001}, false},
		{Identity{Transport: "unix", UID: 4242, GID: 4242}, false},
		{Identity{Transport: "tls", Subject: "CN=ops-1", CN: "ops-1"}, true},
		{Identity{Transport: "tls", Subject: "CN=storage-1", CN: "storage-1"}, true},
		{Identity{Transport: "tls", Subject: "CN=monitor", CN: "monitor"}, false},
		{Identity{Transport: "tls", Subject: "CN=nobody", CN: "nobody"}, false},
		{Identity{}, false},
	}
	for _, tc := range tests {
		if got := p.Reserved(tc.id); got != tc.want {
			t.Errorf("Reserved(%v %v) = %v, want %v", tc.id, tc.id.Groups, got, tc.want)
		}
	}
	if k := (Identity{Transport: "unix", UID: 7, GID: 8}).LimitKey(); k != "uid:7" {
		t.Errorf("LimitKey %q", k)
	}
	if k := (Identity{Transport: "tls", Subject: "CN=a,O=b", CN: "a"}).LimitKey(); k != "cert:CN=a,O=b" {
		t.Errorf("LimitKey %q", k)
	}
}
