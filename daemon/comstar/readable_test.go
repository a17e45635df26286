package comstar

import (
	"context"
	"os"
	"strings"
	"testing"
)

// TestListLUExitStatusIsTheLastLUsFailures: list-lu -v exits with the
// number of "<error retrieving property>" lines of the last LU listed
// (listLuFunc). That answer is read, so that the reading rules can name
// the LU and the lines; any other failure stays an error.
func TestListLUExitStatusIsTheLastLUsFailures(t *testing.T) {
	out, err := os.ReadFile("testdata/listlu_properror.txt") // its last LU has one failed property
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		exit    int
		stderr  string
		wantErr bool
	}{
		{"exit is the failure count", 1, "", false},
		{"exit is not the failure count", 2, "", true},
		{"something on stderr", 1, "stmfadm: resource busy\n", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Cmd{Path: "/usr/sbin/stmfadm", Run: fakeRun(tc.exit, string(out), tc.stderr)}
			lus, err := c.ListLU(context.Background())
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if len(lus) != 2 || lus[1].UnreadDataFile() == nil || !strings.Contains(lus[1].UnreadDataFile().String(), PrintedError) {
				t.Errorf("LUs %+v: want the second one's data file unread", lus)
			}
			lu, ok, err := c.LookupLU(context.Background(), lus[0].GUID)
			if err != nil || !ok || len(lu.UnreadIdentity()) != 3 {
				t.Errorf("LookupLU: %+v %v %v: want the LU with its three unread lines", lu, ok, err)
			}
		})
	}
}

// TestUnreadText: what a refusal quotes.
func TestUnreadText(t *testing.T) {
	us := []Unread{{Label: "Data File", Printed: PrintedStandby}, {Label: "Size", Printed: PrintedStandby},
		{Label: "Access State", Printed: "Standby"}, {Label: "Block Size", Missing: true}, {Label: "Vendor ID", Missing: true}}
	want := `Data File, Size: "prop unavailable in standby"; Access State: "Standby"; no line for Block Size, Vendor ID`
	if got := Unreads(us); got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
	if !Standby(us) || Standby([]Unread{{Label: "Size", Printed: PrintedError}, {Label: "Access State", Printed: PrintedError}}) {
		t.Error("Standby: a standby placeholder or a non-Active access state, not an error")
	}
}
