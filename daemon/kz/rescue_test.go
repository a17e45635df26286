package kz

import (
	"slices"
	"strings"
	"testing"
)

func TestRescueArgv(t *testing.T) {
	k := Cmd{Zoneadm: "/usr/sbin/zoneadm", Zonecfg: "/usr/sbin/zonecfg", Zlogin: "/usr/sbin/zlogin"}
	uri := "iscsi://127.0.0.1:3260/luname.naa.600144f0a613c900000054521d550001"
	for _, c := range []struct {
		name string
		got  func() ([]string, error)
		want []string
	}{
		{"add device", func() ([]string, error) { return k.AddDeviceArgv("kzrescue", uri, 0) },
			[]string{"/usr/sbin/zonecfg", "-z", "kzrescue", "add device; set storage=" + uri + "; set id=0; end"}},
		{"remove device", func() ([]string, error) { return k.RemoveDeviceArgv("kzrescue", 0) },
			[]string{"/usr/sbin/zonecfg", "-z", "kzrescue", "remove device id=0"}},
		{"import by guid", func() ([]string, error) {
			return k.ZpoolImportArgv("kzrescue", RescueAltroot, "kz1", "1190724685315468802")
		}, []string{"/usr/sbin/zlogin", "kzrescue", "/usr/sbin/zpool", "import", "-R", "/mnt/1", "-N", "-f", "-t", "kz1", "1190724685315468802"}},
		{"import by name", func() ([]string, error) { return k.ZpoolImportArgv("kzrescue", RescueAltroot, "kz1", "rpool") },
			[]string{"/usr/sbin/zlogin", "kzrescue", "/usr/sbin/zpool", "import", "-R", "/mnt/1", "-N", "-f", "-t", "kz1", "rpool"}},
		{"export", func() ([]string, error) { return k.ZpoolExportArgv("kzrescue", "kz1") },
			[]string{"/usr/sbin/zlogin", "kzrescue", "/usr/sbin/zpool", "export", "kz1"}},
		{"list", func() ([]string, error) { return k.ZpoolListArgv("kzrescue") },
			[]string{"/usr/sbin/zlogin", "kzrescue", "/usr/sbin/zpool", "list", "-H", "-o", "name"}},
		{"dev uri", func() ([]string, error) { return k.AddDeviceArgv("r", "dev:/dev/zvol/dsk/pool/kz1disk", 0) },
			[]string{"/usr/sbin/zonecfg", "-z", "r", "add device; set storage=dev:/dev/zvol/dsk/pool/kz1disk; set id=0; end"}},
	} {
		got, err := c.got()
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("%s: %q, %v; want %q", c.name, got, err, c.want)
		}
	}
}

func TestRescueArgvRefusals(t *testing.T) {
	k := Cmd{Zoneadm: "/usr/sbin/zoneadm", Zonecfg: "/usr/sbin/zonecfg", Zlogin: "/usr/sbin/zlogin"}
	for _, c := range []struct {
		name, want string
		got        func() ([]string, error)
	}{
		{"storage with a command separator", "a;remove", func() ([]string, error) {
			return k.AddDeviceArgv("r", "dev:/dev/zvol/dsk/pool/a;remove", 0)
		}},
		{"storage volctl cannot read", "unknown URI type", func() ([]string, error) { return k.AddDeviceArgv("r", "file:///x", 0) }},
		{"a match, not a storage URI", "not a storage URI", func() ([]string, error) { return k.AddDeviceArgv("r", "match=/dev/zvol/rdsk/pool/a", 0) }},
		{"bad zone", "invalid zone name", func() ([]string, error) { return k.AddDeviceArgv("-r", "dev:/dev/zvol/dsk/pool/a", 0) }},
		{"negative id", "0 or more", func() ([]string, error) { return k.RemoveDeviceArgv("r", -1) }},
		{"word the zone's shell would expand", "one word", func() ([]string, error) { return k.ZpoolImportArgv("r", "/mnt/$HOME", "kz1", "rpool") }},
		{"temp name that is a disk name", "disk names", func() ([]string, error) { return k.ZpoolImportArgv("r", "/mnt/1", "c0t0d0", "rpool") }},
		{"export of a reserved name", "reserved", func() ([]string, error) { return k.ZpoolExportArgv("r", "mirror") }},
		{"no zlogin", "no zlogin", func() ([]string, error) { return Cmd{}.ZpoolListArgv("r") }},
	} {
		got, err := c.got()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %q, %v; want an error with %q", c.name, got, err, c.want)
		}
	}
}

func TestParsePoolNames(t *testing.T) {
	got, err := ParsePoolNames([]byte("kz1\nrpool\n"))
	if err != nil || !slices.Equal(got, []string{"kz1", "rpool"}) {
		t.Errorf("%q, %v", got, err)
	}
	for _, bad := range []string{"NAME\tSIZE\nrpool 1G\n", "kz1 ONLINE\n", "1pool\n"} {
		if got, err := ParsePoolNames([]byte(bad)); err == nil {
			t.Errorf("%q: %q, no error", bad, got)
		}
	}
}
