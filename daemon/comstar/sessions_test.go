package comstar

import (
	"reflect"
	"strings"
	"testing"
)

// The layout of docs/platform/comstar.md §7.1 (stmfadm.c printTargetProps /
// printSessionProps): labels "    %-18s: ", sessions at 8 and 12 spaces.
const listTargetV = `Target: iqn.1986-03.com.sun:02:tgt-a
    Operational Status: Online
    Provider Name     : iscsit
    Alias             : -
    Protocol          : iSCSI
    Sessions          : 2
        Initiator: iqn.1986-03.com.sun:01:kz-host1
            Alias: kz-host1
            Logged in since: Tue Dec  1 18:47:19 2026
        Initiator: iqn.1991-05.com.microsoft:win1
            Alias: -
            Logged in since: Tue Dec  1 18:50:02 2026
Target: iqn.1986-03.com.sun:02:tgt-b
    Operational Status: Online
    Provider Name     : iscsit
    Alias             : tgt-b
    Protocol          : iSCSI
    Sessions          : 0
`

func TestParseListTarget(t *testing.T) {
	got, err := ParseListTarget([]byte(listTargetV))
	if err != nil {
		t.Fatal(err)
	}
	want := []Target{
		{Name: "iqn.1986-03.com.sun:02:tgt-a", Status: "Online", Sessions: []Session{
			{Initiator: "iqn.1986-03.com.sun:01:kz-host1", Alias: "kz-host1", Since: "Tue Dec  1 18:47:19 2026"},
			{Initiator: "iqn.1991-05.com.microsoft:win1", Since: "Tue Dec  1 18:50:02 2026"},
		}},
		{Name: "iqn.1986-03.com.sun:02:tgt-b", Status: "Online"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestParseListTargetRefuses(t *testing.T) {
	tests := map[string]string{
		"count says more":    strings.Replace(listTargetV, "Sessions          : 0", "Sessions          : 1", 1),
		"count not a number": strings.Replace(listTargetV, "Sessions          : 2", "Sessions          : two", 1),
		"empty initiator":    strings.Replace(listTargetV, "Initiator: iqn.1991-05.com.microsoft:win1", "Initiator: ", 1),
	}
	for name, in := range tests {
		if _, err := ParseListTarget([]byte(in)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestExposed(t *testing.T) {
	targets, err := ParseListTarget([]byte(listTargetV))
	if err != nil {
		t.Fatal(err)
	}
	hgs := map[string][]string{"hg-kz": {"IQN.1986-03.com.sun:01:kz-host1"}}
	tgs := map[string][]string{"tg-a": {"iqn.1986-03.com.sun:02:tgt-a"}, "tg-b": {"iqn.1986-03.com.sun:02:tgt-b"}}
	tests := []struct {
		name  string
		views []View
		want  []string
	}{
		{"host group limits", []View{{HostGroup: "hg-kz", TargetGroup: "tg-a", LUN: 0}}, []string{"iqn.1986-03.com.sun:01:kz-host1@iqn.1986-03.com.sun:02:tgt-a"}},
		{"all hosts", []View{{HostGroup: "All", TargetGroup: "tg-a", LUN: 3}},
			[]string{"iqn.1986-03.com.sun:01:kz-host1@iqn.1986-03.com.sun:02:tgt-a", "iqn.1991-05.com.microsoft:win1@iqn.1986-03.com.sun:02:tgt-a"}},
		{"a target nobody is logged in to", []View{{HostGroup: "All", TargetGroup: "tg-b", LUN: 7}}, nil},
		{"no views", nil, nil},
		{"unknown group", []View{{HostGroup: "hg-gone", TargetGroup: "All", LUN: 1}}, nil},
	}
	for _, tt := range tests {
		var got []string
		for _, e := range Exposed(tt.views, targets, hgs, tgs) {
			got = append(got, e.Initiator+"@"+e.Target)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
	paths := Paths([]View{{TargetGroup: "tg-b", LUN: 7}, {TargetGroup: "All", LUN: 1}}, targets, tgs)
	want := []Path{{"iqn.1986-03.com.sun:02:tgt-b", 7}, {"iqn.1986-03.com.sun:02:tgt-a", 1}, {"iqn.1986-03.com.sun:02:tgt-b", 1}}
	if !reflect.DeepEqual(paths, want) {
		t.Errorf("Paths = %v, want %v", paths, want)
	}
}
