package comstar

import (
	"slices"
	"strings"
	"testing"
)

// TestCreateLUArgvCarriesEveryValue: create-lu -p splits its argument on
// '=' (strtok_r) and cmdparse refuses arguments over 256 bytes
// (docs/platform/comstar-lu.md §3): a value it cannot carry exactly is an
// error naming the property and the value, never a create-lu without it.
func TestCreateLUArgvCarriesEveryValue(t *testing.T) {
	base := LU{GUID: "600144F0A613C900000054521D550001", DataFile: "/dev/zvol/rdsk/pool/idisk0",
		Alias: "/dev/zvol/rdsk/pool/idisk0", BlockSize: 512, VendorID: "SUN     ", ProductID: "COMSTAR         "}
	c := Cmd{Path: "/usr/sbin/stmfadm"}
	for _, tc := range []struct {
		name    string
		edit    func(*LU)
		want    string // in the argv, joined by spaces
		wantErr string // in the error
	}{
		{name: "plain", edit: func(*LU) {}, want: "-p guid=600144F0A613C900000054521D550001 -p alias=/dev/zvol/rdsk/pool/idisk0 -p vid=SUN -p pid=COMSTAR -p blk=512 -p wp=false -p wcd=false /dev/zvol/rdsk/pool/idisk0"},
		{name: "serial and url kept", edit: func(l *LU) { l.SerialNum, l.MgmtURL = "S 1", "http://h:80/x" }, want: "-p serial=S 1 -p mgmt-url=http://h:80/x"},
		{name: "alias with '='", edit: func(l *LU) { l.Alias = "db=prod" }, wantErr: `alias "db=prod" contains '='`},
		{name: "mgmt url with a query", edit: func(l *LU) { l.MgmtURL = "http://h/lu?id=1" }, wantErr: `mgmt-url "http://h/lu?id=1" contains '='`},
		{name: "serial with '='", edit: func(l *LU) { l.SerialNum = "=S1" }, wantErr: `serial "=S1" contains '='`},
		{name: "alias over 256 bytes with its name", edit: func(l *LU) { l.Alias = strings.Repeat("a", 251) }, wantErr: "257 bytes"},
		{name: "no alias", edit: func(l *LU) { l.Alias = "" }, wantErr: "alias: the LU has none"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lu := base
			tc.edit(&lu)
			argv, err := c.CreateLUArgv(lu)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), lu.GUID) {
					t.Fatalf("argv %q, err %v: want an error naming the LU and %q", argv, err, tc.wantErr)
				}
				if argv != nil {
					t.Errorf("an argv came with the error: %q", argv)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(argv[1:], " "); !strings.Contains(got, tc.want) || argv[0] != c.Path || argv[1] != "create-lu" {
				t.Errorf("argv %q, want it to hold %q", got, tc.want)
			}
			if argv[len(argv)-1] != lu.DataFile || !slices.Contains(argv, "guid="+lu.GUID) {
				t.Errorf("argv %q lost the GUID or the data file", argv)
			}
		})
	}
	// 256 bytes exactly is what cmdparse still takes.
	lu := base
	lu.Alias = strings.Repeat("a", 256-len("alias="))
	if _, err := c.CreateLUArgv(lu); err != nil {
		t.Errorf("a 256-byte argument refused: %v", err)
	}
}
