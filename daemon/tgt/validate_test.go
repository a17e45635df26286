package tgt

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestValidateIQN(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"iqn.2026-11.test:disk0", true},
		{"iqn.2008-11.org.linux-kvm", true},
		{"iqn.1994-05.com.redhat:5f2e1c9a", true},
		{"eui.02004567a425678d", true},
		{"naa.52004567ba64678d", true},
		{"naa.52004567ba64678d52004567ba64678d", true},
		{"", false},
		{"IQN.2026-11.test:x", false},
		{"iqn.2026-11.Test:x", false},
		{"iqn.2026-13.test:x", false},
		{"iqn.26-11.test:x", false},
		{"iqn.2026-11.:x", false},
		{"iqn.2026-11..test", false},
		{"iqn.2026-11.test:a b", false},
		{"iqn.2026-11.test:a,b", false},
		{"eui.0200", false},
		{"naa.zz004567ba64678d", false},
		{"127.0.0.1", false},
		{"iqn.2026-11.test:" + strings.Repeat("x", 210), false},
	} {
		err := ValidateIQN(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("ValidateIQN(%q) = %v, want ok=%v", tc.in, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("ValidateIQN(%q): %v does not wrap ErrInvalid", tc.in, err)
		}
	}
}

func TestACLRules(t *testing.T) {
	for _, tc := range []struct {
		in    string
		kind  ACLKind
		valid bool
	}{
		{"ALL", ACLAddress, true},
		{"127.0.0.1", ACLAddress, true},
		{"10.0.0.0/8", ACLAddress, true},
		{"[fe80::1]", ACLAddress, true},
		{"::1/128", ACLAddress, true},
		{"10.0.0.0/33", ACLAddress, false},
		{"not-an-address", ACLAddress, false},
		{"iqn.2026-11.test:initiator-a", ACLName, false},
		{"EUI.02004567a425678d", ACLName, false},
	} {
		if k := ClassifyACL(tc.in); k != tc.kind {
			t.Errorf("ClassifyACL(%q) = %s, want %s", tc.in, k, tc.kind)
		}
		if v := ValidAddressRule(tc.in); v != tc.valid {
			t.Errorf("ValidAddressRule(%q) = %v, want %v", tc.in, v, tc.valid)
		}
	}
}

func TestValidateParam(t *testing.T) {
	for _, tc := range []struct {
		v   string
		max int
		ok  bool
	}{
		{"SN-SPEC-A1", 36, true},
		{"a b", 36, true},
		{"", 36, false},
		{"a,b", 36, false},
		{"a\nb", 36, false},
		{strings.Repeat("x", 37), 36, false},
		{strings.Repeat("x", 36), 36, true},
	} {
		if err := ValidateParam("scsi_sn", tc.v, tc.max); (err == nil) != tc.ok {
			t.Errorf("ValidateParam(%q) = %v, want ok=%v", tc.v, err, tc.ok)
		}
	}
}

func TestArgv(t *testing.T) {
	c := Cmd{Path: "/usr/sbin/tgtadm", Control: "7391"}
	pre := []string{"/usr/sbin/tgtadm", "--control-port", "7391", "--lld", "iscsi"}
	for _, tc := range []struct {
		name string
		got  []string
		want []string
	}{
		{"show", c.ShowArgv(), append(pre, "--op", "show", "--mode", "target")},
		{"new lu plain", c.NewLUArgv(2, 1, LUSpec{Path: "/tank/a.img", BSType: "rdwr", BlockSize: 512}),
			append(pre, "--op", "new", "--mode", "logicalunit", "--tid", "2", "--lun", "1", "--backing-store", "/tank/a.img")},
		{"new lu options", c.NewLUArgv(3, 6, LUSpec{Path: "/c.img", BSType: "aio", BSOFlags: "sync", BlockSize: 4096}),
			append(pre, "--op", "new", "--mode", "logicalunit", "--tid", "3", "--lun", "6", "--backing-store", "/c.img",
				"--bstype", "aio", "--bsoflags", "sync", "--blocksize", "4096")},
		{"update", c.UpdateLUArgv(2, 1, []Param{{"scsi_id", "600144f0aaaabbbb0000000000000001"}, {"scsi_sn", "a b"}}),
			append(pre, "--op", "update", "--mode", "logicalunit", "--tid", "2", "--lun", "1", "--params",
				"scsi_id=600144f0aaaabbbb0000000000000001,scsi_sn=a b")},
		{"delete lu", c.DeleteLUArgv(2, 1), append(pre, "--op", "delete", "--mode", "logicalunit", "--tid", "2", "--lun", "1")},
		{"bind address", c.BindArgv(2, ACLRule{"ALL", ACLAddress}), append(pre, "--op", "bind", "--mode", "target", "--tid", "2", "--initiator-address", "ALL")},
		{"unbind name", c.UnbindArgv(2, ACLRule{"iqn.2026-11.test:i", ACLName}), append(pre, "--op", "unbind", "--mode", "target", "--tid", "2", "--initiator-name", "iqn.2026-11.test:i")},
		{"delete conn", c.DeleteConnArgv(2, 41, 0), append(pre, "--op", "delete", "--mode", "conn", "--tid", "2", "--sid", "41", "--cid", "0")},
		{"no control port", Cmd{Path: "/t"}.ShowArgv(), []string{"/t", "--lld", "iscsi", "--op", "show", "--mode", "target"}},
	} {
		if !reflect.DeepEqual(tc.got, tc.want) {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, tc.got, tc.want)
		}
	}
}
