package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// flavorCase is one command on a freshly seeded host of each flavor, with
// the exit status, stdout and stderr expected per flavor. A flavor missing
// from want is not run. stderrPrefix compares only the start of stderr.
type flavorCase struct {
	name  string
	edit  func(*State)
	setup [][]string
	argv  []string
	want  map[string]flavorWant
}

type flavorWant struct {
	code         int
	stdout       string
	stderr       string
	stderrPrefix bool
}

func runFlavorCases(t *testing.T, cases []flavorCase) {
	t.Helper()
	for _, c := range cases {
		for _, f := range Flavors() {
			w, ok := c.want[f]
			if !ok {
				continue
			}
			t.Run(c.name+"/"+f, func(t *testing.T) {
				root := seededFlavor(t, f)
				if c.edit != nil {
					if err := Update(root, func(s *State) error { c.edit(s); return nil }); err != nil {
						t.Fatal(err)
					}
				}
				for _, s := range c.setup {
					must(t, root, s...)
				}
				r := run(t, root, c.argv...)
				stderrOK := r.stderr == w.stderr || (w.stderrPrefix && strings.HasPrefix(r.stderr, w.stderr))
				if r.code != w.code || r.stdout != w.stdout || !stderrOK {
					t.Errorf("%s:\ngot  %v\nwant exit %d stdout %q stderr %q (prefix %v)",
						strings.Join(c.argv, " "), r, w.code, w.stdout, w.stderr, w.stderrPrefix)
				}
			})
		}
	}
}

// all gives every flavor the same expectation.
func all(w flavorWant) map[string]flavorWant {
	return map[string]flavorWant{FlavorSolaris: w, FlavorIllumos: w, FlavorOpenZFS: w}
}

const solarisNoWrittenGet = "bad property list: invalid property 'written@snap1'\nFor more info, run: zfs help get\n"

// TestFlavorZFS: docs/platform/zfs.md §1, row by row.
func TestFlavorZFS(t *testing.T) {
	illumosOnly := func(s, i flavorWant) map[string]flavorWant {
		return map[string]flavorWant{FlavorSolaris: s, FlavorIllumos: i, FlavorOpenZFS: i}
	}
	invalidType := func(ty, cmd string) flavorWant {
		return flavorWant{2, "", "invalid type '" + ty + "'\nusage:\n" + zfsUsages[cmd], false}
	}
	newer := [][]string{{"zfs", "snapshot", "pool/idisk0@snap2"}, {"zfs", "snapshot", "pool/idisk0@snap3"}}
	runFlavorCases(t, []flavorCase{
		{"written@ snap", nil, nil, []string{"zfs", "get", "-Hp", "-o", "value", "written@snap1", "pool/idisk0"},
			illumosOnly(flavorWant{2, "", solarisNoWrittenGet, false}, flavorWant{0, "24576\n", "", false})},
		{"written@ with other props", nil, nil, []string{"zfs", "get", "-Hp", "-o", "value", "volsize,written@snap1", "pool/idisk0"},
			illumosOnly(flavorWant{2, "", solarisNoWrittenGet, false}, flavorWant{0, "1073741824\n24576\n", "", false})},
		{"written", nil, nil, []string{"zfs", "get", "-Hp", "-o", "value", "written", "pool/idisk1"},
			illumosOnly(flavorWant{2, "", "bad property list: invalid property 'written'\nFor more info, run: zfs help get\n", false},
				flavorWant{0, "0\n", "", false})},
		{"written@ missing snapshot", nil, nil, []string{"zfs", "get", "-H", "-p", "written@nope", "pool/idisk0"},
			illumosOnly(flavorWant{2, "", "bad property list: invalid property 'written@nope'\nFor more info, run: zfs help get\n", false},
				flavorWant{0, "pool/idisk0\twritten@nope\t-\t-\n", "", false})},
		{"written@ source", nil, nil, []string{"zfs", "get", "-H", "-p", "-o", "source", "written@snap1", "pool/idisk0"},
			map[string]flavorWant{FlavorIllumos: {0, "local\n", "", false}, FlavorOpenZFS: {0, "local\n", "", false}}},
		{"list -o written", nil, nil, []string{"zfs", "list", "-H", "-o", "name,written", "pool/idisk1"},
			illumosOnly(flavorWant{2, "", "bad property list: invalid property 'written'\nFor more info, run: zfs help list\n", false},
				flavorWant{0, "pool/idisk1\t0\n", "", false})},
		{"list -o written@", nil, nil, []string{"zfs", "list", "-H", "-o", "written@base", "pool/idisk1"},
			illumosOnly(flavorWant{2, "", "bad property list: invalid property 'written@base'\nFor more info, run: zfs help list\n", false},
				flavorWant{0, "0\n", "", false})},
		{"list -s written", nil, nil, []string{"zfs", "list", "-H", "-o", "name", "-s", "written", "pool/idisk1"},
			illumosOnly(flavorWant{2, "", "invalid property 'written'\nFor more info, run: zfs help list\n", false},
				flavorWant{0, "pool/idisk1\n", "", false})},
		{"list -o unknown", nil, nil, []string{"zfs", "list", "-o", "bogus"},
			all(flavorWant{2, "", "bad property list: invalid property 'bogus'\nusage:\n" + zfsUsages["list"], false})},
		{"snapshot volsize", nil, nil, []string{"zfs", "get", "-Hp", "-o", "value", "volsize", "pool/idisk0@snap1"},
			map[string]flavorWant{FlavorSolaris: {0, "-\n", "", false}, FlavorIllumos: {0, "-\n", "", false}, FlavorOpenZFS: {0, "1073741824\n", "", false}}},
		{"snapshot volsize in list", nil, nil, []string{"zfs", "list", "-Hp", "-o", "name,volsize", "pool/idisk1@base"},
			map[string]flavorWant{FlavorSolaris: {0, "pool/idisk1@base\t-\n", "", false}, FlavorIllumos: {0, "pool/idisk1@base\t-\n", "", false},
				FlavorOpenZFS: {0, "pool/idisk1@base\t1073741824\n", "", false}}},
		{"volume volsize", nil, nil, []string{"zfs", "get", "-Hp", "-o", "value", "volsize", "pool/idisk0"},
			all(flavorWant{0, "1073741824\n", "", false})},
		{"list -t fs", nil, nil, []string{"zfs", "list", "-H", "-o", "name", "-t", "fs"},
			illumosOnly(flavorWant{0, "pool\npool/data\n", "", false}, invalidType("fs", "list"))},
		{"list -t vol", nil, nil, []string{"zfs", "list", "-H", "-o", "name", "-t", "filesystem,vol"},
			illumosOnly(flavorWant{0, "pool\npool/data\npool/idisk0\npool/idisk1\n", "", false}, invalidType("vol", "list"))},
		{"list -t volume", nil, nil, []string{"zfs", "list", "-H", "-o", "name", "-t", "volume"},
			all(flavorWant{0, "pool/idisk0\npool/idisk1\n", "", false})},
		{"get -t vol", nil, nil, []string{"zfs", "get", "-H", "-o", "name", "-t", "vol", "type"},
			illumosOnly(flavorWant{0, "pool/idisk0\npool/idisk1\n", "", false}, invalidType("vol", "get"))},
		{"list -p", nil, nil, []string{"zfs", "list", "-H", "-p", "-o", "name,volsize", "pool/idisk0"},
			all(flavorWant{0, "pool/idisk0\t1073741824\n", "", false})},
		{"list -p without it", func(s *State) { s.NoListP = true }, nil, []string{"zfs", "list", "-H", "-p", "-o", "name", "pool"},
			all(flavorWant{2, "", "invalid option 'p'\nusage:\n" + zfsListUsageNoP + "For more info, run: zfs help list\n", false})},
		{"list -Hp clustered without it", func(s *State) { s.NoListP = true }, nil, []string{"zfs", "list", "-Hp", "pool"},
			all(flavorWant{2, "", "invalid option 'p'\nusage:\n", true})},
		{"get -p without list -p", func(s *State) { s.NoListP = true }, nil, []string{"zfs", "get", "-H", "-p", "-o", "value", "volsize", "pool/idisk0"},
			all(flavorWant{0, "1073741824\n", "", false})},
		{"rollback newer", nil, newer, []string{"zfs", "rollback", "pool/idisk0@snap1"},
			illumosOnly(flavorWant{1, "", "cannot rollback to 'pool/idisk0@snap1': more recent snapshots exist\n" +
				"use '-r' to force deletion of the following snapshots:\npool/idisk0@snap2\npool/idisk0@snap3\n", false},
				flavorWant{1, "", "cannot rollback to 'pool/idisk0@snap1': more recent snapshots or bookmarks exist\n" +
					"use '-r' to force deletion of the following snapshots and bookmarks:\npool/idisk0@snap2\npool/idisk0@snap3\n", false})},
		// docs/platform/zfs-snapshot.md: Solaris counts the operands before
		// it opens any; illumos and OpenZFS open each, then take them all.
		{"snapshot two operands", nil, nil, []string{"zfs", "snapshot", "pool/idisk0@g", "pool/idisk1@g"},
			illumosOnly(flavorWant{2, "", "too many arguments\nusage:\n" + zfsSnapshotUsageOne, false}, flavorWant{0, "", "", false})},
		{"snapshot probe", nil, nil, []string{"zfs", "snapshot", "volctl-probe-nopool/a@volctl-probe", "volctl-probe-nopool/b@volctl-probe"},
			illumosOnly(flavorWant{2, "", "too many arguments\nusage:\n" + zfsSnapshotUsageOne, false},
				flavorWant{2, "", "cannot open 'volctl-probe-nopool/a': dataset does not exist\nusage:\n" + zfsUsages["snapshot"], false})},
		{"snapshot -r", nil, nil, []string{"zfs", "snapshot", "-r", "pool@g"}, all(flavorWant{0, "", "", false})},
		{"list -t snapshot DATASET", nil, nil, []string{"zfs", "list", "-H", "-o", "name", "-t", "snapshot", "pool/idisk1"},
			map[string]flavorWant{FlavorSolaris: {0, "", "", false}, FlavorIllumos: {0, "", "", false}, FlavorOpenZFS: {0, "pool/idisk1@base\n", "", false}}},
	})

	t.Run("two snapshot operands: Solaris takes neither and logs the refusal, illumos both", func(t *testing.T) {
		for _, f := range Flavors() {
			root := seededFlavor(t, f)
			r := run(t, root, "zfs", "snapshot", "pool/idisk0@g", "pool/idisk1@g")
			s := load(t, root)
			n := 0
			for _, v := range []string{"pool/idisk0", "pool/idisk1"} {
				if s.Zvol(v).Snapshot("g") != nil {
					n++
				}
			}
			refused, err := Refused(root)
			if err != nil {
				t.Fatal(err)
			}
			want, wantRefused := 2, 0
			if f == FlavorSolaris {
				want, wantRefused = 0, 1
			}
			if n != want || len(refused) != wantRefused || (wantRefused > 0 && refused[0].Reason != "too many arguments") {
				t.Errorf("%s: %v: %d snapshots taken, refusals %+v; want %d and %d", f, r, n, refused, want, wantRefused)
			}
		}
	})
	t.Run("snapshot -r takes the dataset and everything below it", func(t *testing.T) {
		for _, f := range Flavors() {
			root := seededFlavor(t, f)
			must(t, root, "zfs", "snapshot", "-r", "pool@g")
			out := must(t, root, "zfs", "list", "-H", "-o", "name", "-t", "snapshot", "-r", "pool").stdout
			for _, n := range []string{"pool@g", "pool/data@g", "pool/idisk0@g", "pool/idisk1@g"} {
				if !strings.Contains(out, n+"\n") {
					t.Errorf("%s: %s not taken:\n%s", f, n, out)
				}
			}
		}
	})
	t.Run("get all has written only where it exists", func(t *testing.T) {
		for _, f := range Flavors() {
			out := must(t, seededFlavor(t, f), "zfs", "get", "-H", "-o", "property", "all", "pool/idisk0").stdout
			if has := strings.Contains(out, "\nwritten\n"); has != (f != FlavorSolaris) {
				t.Errorf("%s: zfs get all lists written = %v:\n%s", f, has, out)
			}
		}
	})
	t.Run("openzfs lists at most 32 newer snapshots, sorted", func(t *testing.T) {
		root := seededFlavor(t, FlavorOpenZFS)
		for i := range 34 {
			must(t, root, "zfs", "snapshot", fmt.Sprintf("pool/idisk1@n%02d", i))
		}
		r := run(t, root, "zfs", "rollback", "pool/idisk1@base")
		lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
		if r.code != 1 || len(lines) != 2+32+1 || lines[2] != "pool/idisk1@n00" || lines[33] != "pool/idisk1@n31" ||
			lines[34] != "Output limited to 32 snapshots/bookmarks" {
			t.Errorf("got %v", r)
		}
		// Illumos lists them all.
		root = seededFlavor(t, FlavorIllumos)
		for i := range 34 {
			must(t, root, "zfs", "snapshot", fmt.Sprintf("pool/idisk1@n%02d", i))
		}
		if r := run(t, root, "zfs", "rollback", "pool/idisk1@base"); strings.Count(r.stderr, "\n") != 2+34 {
			t.Errorf("illumos: got %v", r)
		}
	})
}

const illumosListUsage = "usage:\tlist [-cipv]\n\t" + zoneadmListHelp + "\n"
const solarisListUsage = "usage:\tlist [-cipsv]\n\t" + zoneadmListHelp + "\n"

// TestFlavorZones: docs/platform/zones.md §1.
func TestFlavorZones(t *testing.T) {
	solarisIllumos := func(s, i flavorWant) map[string]flavorWant {
		return map[string]flavorWant{FlavorSolaris: s, FlavorIllumos: i, FlavorOpenZFS: i}
	}
	kz1Line := "-:kz1:installed:/system/volatile/zones/kz1/zonepath:" + SeedKZUUID + ":solaris-kz:excl:-:\n"
	addZone := func(s *State) {
		s.Zones = append(s.Zones, &Zone{Name: "z1", Brand: "ipkg", IPType: "excl", UUID: "0f0e0d0c-0000-4000-8000-000000000001", State: ZoneConfigured})
	}
	runFlavorCases(t, []flavorCase{
		{"list -cp", nil, nil, []string{"zoneadm", "list", "-cp"}, solarisIllumos(
			flavorWant{0, "0:global:running:/::solaris:shared:-:none\n" + kz1Line, "", false},
			flavorWant{0, "0:global:running:/::ipkg:shared\n", "", false})},
		{"list -cp a plain zone", addZone, nil, []string{"zoneadm", "list", "-cp"}, map[string]flavorWant{
			FlavorIllumos: {0, "0:global:running:/::ipkg:shared\n-:z1:configured:/system/zones/z1:0f0e0d0c-0000-4000-8000-000000000001:ipkg:excl\n", "", false}}},
		{"list -s", nil, nil, []string{"zoneadm", "list", "-s"}, solarisIllumos(
			flavorWant{0, "NAME             STATUS           AUXILIARY STATE\nglobal           running\nkz1              installed\n", "", false},
			flavorWant{2, "", "-s: illegal option -- s\n" + illumosListUsage, false})},
		{"list -s shows aux and hides detached", func(s *State) {
			s.Zone("kz1").Aux = "suspended"
			s.Zones = append(s.Zones, &Zone{Name: "kz2", Brand: "solaris-kz", IPType: "excl", State: ZoneConfigured})
		}, nil, []string{"zoneadm", "list", "-s"}, map[string]flavorWant{
			FlavorSolaris: {0, "NAME             STATUS           AUXILIARY STATE\nglobal           running\nkz1              installed        suspended\n", "", false}}},
		{"list -cs", nil, nil, []string{"zoneadm", "list", "-cs"}, solarisIllumos(
			flavorWant{2, "", solarisListUsage, false},
			flavorWant{2, "", "-cs: illegal option -- s\n" + illumosListUsage, false})},
		{"list -p -s", nil, nil, []string{"zoneadm", "list", "-p", "-s"}, solarisIllumos(
			flavorWant{2, "", solarisListUsage, false},
			flavorWant{2, "", "-p: illegal option -- s\n" + illumosListUsage, false})},
		{"-z list -s", nil, nil, []string{"zoneadm", "-z", "global", "list", "-s"}, solarisIllumos(
			flavorWant{2, "", solarisListUsage, false},
			flavorWant{2, "", "-s: illegal option -- s\n" + illumosListUsage, false})},
		{"-z list -c", nil, nil, []string{"zoneadm", "-z", "global", "list", "-c"}, map[string]flavorWant{
			FlavorIllumos: {2, "", "-c: illegal option -- c\n" + illumosListUsage, false}}},
		{"list -x", nil, nil, []string{"zoneadm", "list", "-x"}, solarisIllumos(
			flavorWant{2, "", "-x: illegal option -- x\n" + solarisListUsage, false},
			flavorWant{2, "", "-x: illegal option -- x\n" + illumosListUsage, false})},
		{"list -pv", nil, nil, []string{"zoneadm", "list", "-pv"}, solarisIllumos(
			flavorWant{2, "", "zoneadm: list -p and -v are mutually exclusive.\n", false},
			flavorWant{1, "", "zoneadm: list -p and -v are mutually exclusive.\n", false})},
		{"list -cv", addZone, nil, []string{"zoneadm", "list", "-cv"}, map[string]flavorWant{
			FlavorIllumos: {0, "  ID NAME             STATUS     PATH                           BRAND    IP    \n" +
				"   0 global           running    /                              ipkg     shared\n" +
				"   - z1               configured /system/zones/z1               ipkg     excl  \n", "", false}}},
		{"attach -x", func(s *State) { addZone(s) }, nil, []string{"zoneadm", "-z", "z1", "attach", "-x", "initialize-hostdata"}, map[string]flavorWant{
			FlavorSolaris: {0, "", "", false},
			FlavorIllumos: {2, "", "-x: illegal option -- x\nusage:\tattach [-F] [-n <path>] [brand-specific args]\n\t" + zoneadmAttachHelp + "\n", false},
			FlavorOpenZFS: {2, "", "-x: illegal option -- x\n", true}}},
		{"attach -x force-takeover", nil, [][]string{{"zoneadm", "-z", "kz1", "detach"}}, []string{"zoneadm", "-z", "kz1", "attach", "-x", "force-takeover"},
			map[string]flavorWant{FlavorSolaris: {0, "", "", false}}},
		{"kernel zone cannot run without the brand", func(s *State) {
			s.Zones = []*Zone{{Name: "kz1", Brand: "solaris-kz", IPType: "excl", State: ZoneInstalled, Key: SeedZoneKey,
				Devices: []*ZoneDevice{{Storage: "iscsi://127.0.0.1:3260/luname.naa.600144f0a613c900000054521d550001"}}}}
		}, nil, []string{"zoneadm", "-z", "kz1", "boot"}, solarisIllumos(
			flavorWant{0, "", "", false},
			flavorWant{1, "", "zoneadm: zone 'kz1': missing or invalid brand\n", false})},
	})

	t.Run("list -p field counts", func(t *testing.T) {
		for f, n := range map[string]int{FlavorSolaris: 9, FlavorIllumos: 7, FlavorOpenZFS: 7} {
			root := seededFlavor(t, f)
			if err := Update(root, func(s *State) error {
				s.Zones = append(s.Zones, &Zone{Name: "z1", Brand: "ipkg", IPType: "excl", State: ZoneInstalled})
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			for _, l := range strings.Split(strings.TrimSuffix(must(t, root, "zoneadm", "list", "-ip").stdout, "\n"), "\n") {
				if got := strings.Count(l, ":") + 1; got != n {
					t.Errorf("%s: %d fields in %q, want %d", f, got, l, n)
				}
			}
		}
	})
	t.Run("seed has a kernel zone only on Solaris", func(t *testing.T) {
		for _, f := range Flavors() {
			s := load(t, seededFlavor(t, f))
			if has := s.Zone(SeedZone) != nil; has != (f == FlavorSolaris) || (f != FlavorSolaris && len(s.Zones) != 0) {
				t.Errorf("%s: zones %v", f, s.Zones)
			}
			// Everything else is the same.
			d := s.Zvol("pool/idisk0")
			if d == nil || string(d.Data) != "kz1 disk after snap1" || string(d.Snapshot("snap1").Data) != "kz1 disk at snap1" ||
				s.LU(guid0) == nil || s.LU(guid1) == nil || len(s.Views(guid0)) != 2 || s.Flavor != f {
				t.Errorf("%s: seed differs: %+v", f, s)
			}
		}
	})
}

// withLocal runs fn with time.Local set to loc (zpool history prints local
// time).
func withLocal(t *testing.T, loc *time.Location, fn func()) {
	t.Helper()
	old := time.Local
	time.Local = loc
	defer func() { time.Local = old }()
	fn()
}

func TestZpoolHistory(t *testing.T) {
	seedHistory := "History for 'pool':\n" +
		"2023-11-14.22:14:20 zpool create pool c0t1d0\n" +
		"2023-11-14.22:15:20 zfs create pool/data\n" +
		"2023-11-14.22:16:20 zfs create -V 1G pool/idisk0\n" +
		"2023-11-14.22:18:20 zfs snapshot pool/idisk0@snap1\n" +
		"2023-11-14.22:20:20 zfs create -V 1G pool/idisk1\n" +
		"2023-11-14.22:21:20 zfs snapshot pool/idisk1@base\n" +
		"\n"
	t.Run("seed, UTC", func(t *testing.T) {
		withLocal(t, time.UTC, func() {
			for _, f := range []string{FlavorSolaris, FlavorIllumos} {
				if r := must(t, seededFlavor(t, f), "zpool", "history"); r.stdout != seedHistory || r.stderr != "" {
					t.Errorf("%s: got %v, want %q", f, r, seedHistory)
				}
			}
			want := strings.Replace(seedHistory, "c0t1d0", "sdb", 1)
			if r := must(t, seededFlavor(t, FlavorOpenZFS), "zpool", "history", "pool"); r.stdout != want {
				t.Errorf("openzfs: got %q", r.stdout)
			}
		})
	})
	t.Run("local time", func(t *testing.T) {
		withLocal(t, time.FixedZone("X", 3600), func() {
			r := must(t, seeded(t), "zpool", "history", "pool")
			if !strings.HasPrefix(r.stdout, "History for 'pool':\n2023-11-14.23:14:20 zpool create pool c0t1d0\n") {
				t.Errorf("got %q", r.stdout)
			}
		})
	})
	t.Run("-l", func(t *testing.T) {
		withLocal(t, time.UTC, func() {
			r := must(t, seeded(t), "zpool", "history", "-l", "pool")
			if !strings.Contains(r.stdout, "\n2023-11-14.22:18:20 zfs snapshot pool/idisk0@snap1 [user 0 (root) on sim-host1:global]\n") {
				t.Errorf("got %q", r.stdout)
			}
		})
	})
	t.Run("pools sorted, blank line after each, unknown pool", func(t *testing.T) {
		withLocal(t, time.UTC, func() {
			root := seeded(t)
			if err := Update(root, func(s *State) error {
				s.Datasets = append(s.Datasets, &Dataset{Name: "apool", Type: "filesystem", Creation: 1600000000})
				s.History = append(s.History, HistoryRecord{Time: 1600000000, Pool: "apool", Cmd: "zpool create apool c0t2d0"})
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			want := "History for 'apool':\n2020-09-13.12:26:40 zpool create apool c0t2d0\n\n" + seedHistory
			if r := must(t, root, "zpool", "history"); r.stdout != want {
				t.Errorf("all pools: got %q\nwant %q", r.stdout, want)
			}
			if r := must(t, root, "zpool", "history", "pool", "apool", "pool"); r.stdout != want {
				t.Errorf("named pools: got %q", r.stdout)
			}
			r := run(t, root, "zpool", "history", "nope", "pool")
			if r.code != 1 || r.stderr != "cannot open 'nope': no such pool\n" || r.stdout != seedHistory {
				t.Errorf("unknown pool: %v", r)
			}
			r = run(t, root, "zpool", "history", "pool/idisk0")
			if r.code != 1 || r.stderr != "cannot open 'pool/idisk0': invalid character '/' in pool name\n" || r.stdout != "" {
				t.Errorf("dataset as pool: %v", r)
			}
		})
	})
	t.Run("usage", func(t *testing.T) {
		root := seeded(t)
		if r := run(t, root, "zpool", "history", "-x"); r.code != 2 || r.stderr != "invalid option 'x'\nusage:\n\thistory [-il] [<pool>] ...\n" {
			t.Errorf("got %v", r)
		}
		if r := run(t, root, "zpool"); r.code != 2 || !strings.HasPrefix(r.stderr, "missing command\nusage: zpool command args ...\n") ||
			!strings.Contains(r.stderr, "\thistory [-il] [<pool>] ...\n") {
			t.Errorf("got %v", r)
		}
		if r := run(t, root, "zpool", "frob"); r.code != 2 || !strings.HasPrefix(r.stderr, "unrecognized command 'frob'\nusage:") {
			t.Errorf("got %v", r)
		}
	})
	t.Run("no pools", func(t *testing.T) {
		root := t.TempDir()
		if err := Init(root); err != nil {
			t.Fatal(err)
		}
		if r := must(t, root, "zpool", "history"); r.stdout != "no pools available\n" {
			t.Errorf("got %v", r)
		}
	})
}

// historyCmds returns the command lines in zpool history for pool after
// the seed's six records.
func historyCmds(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	for _, r := range load(t, root).History[6:] {
		out = append(out, r.Cmd)
	}
	return out
}

func TestHistoryLogging(t *testing.T) {
	cases := []struct {
		name  string
		setup [][]string
		argv  []string
		code  int
		want  []string // history lines added by argv
	}{
		{"rollback", [][]string{{"stmfadm", "delete-lu", "-k", guid0}}, []string{"zfs", "rollback", "pool/idisk0@snap1"}, 0,
			[]string{"zfs rollback pool/idisk0@snap1"}},
		{"rollback -r", [][]string{{"stmfadm", "delete-lu", "-k", guid0}, {"zfs", "snapshot", "pool/idisk0@s2"}},
			[]string{"zfs", "rollback", "-r", "pool/idisk0@snap1"}, 0, []string{"zfs snapshot pool/idisk0@s2", "zfs rollback -r pool/idisk0@snap1"}},
		{"busy rollback logs nothing", nil, []string{"zfs", "rollback", "pool/idisk0@snap1"}, 1, nil},
		{"busy rollback -r logs nothing although it destroyed", [][]string{{"zfs", "snapshot", "pool/idisk0@s2"}},
			[]string{"zfs", "rollback", "-r", "pool/idisk0@snap1"}, 1, []string{"zfs snapshot pool/idisk0@s2"}},
		{"refused rollback logs nothing", nil, []string{"zfs", "rollback", "-x", "pool/idisk0@snap1"}, 2, nil},
		{"snapshot", nil, []string{"zfs", "snapshot", "pool/idisk1@a b"}, 0, []string{"zfs snapshot pool/idisk1@a b"}},
		{"snap alias", nil, []string{"zfs", "snap", "-r", "pool/idisk1@x"}, 0, []string{"zfs snap -r pool/idisk1@x"}},
		{"failed snapshot", nil, []string{"zfs", "snapshot", "pool/idisk1@base"}, 1, nil},
		{"destroy", nil, []string{"zfs", "destroy", "pool/idisk1@base"}, 0, []string{"zfs destroy pool/idisk1@base"}},
		{"list and get log nothing", nil, []string{"zfs", "list", "-H"}, 0, nil},
		{"get logs nothing", nil, []string{"zfs", "get", "-H", "volsize", "pool/idisk0"}, 0, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := seeded(t)
			for _, s := range c.setup {
				must(t, root, s...)
			}
			before := time.Now().Unix()
			if r := run(t, root, c.argv...); r.code != c.code {
				t.Fatalf("got %v", r)
			}
			got := historyCmds(t, root)
			if strings.Join(got, "|") != strings.Join(c.want, "|") {
				t.Errorf("history %q, want %q", got, c.want)
			}
			for _, h := range load(t, root).History[6:] {
				if h.Time < before-1 || h.Time > time.Now().Unix()+1 || h.Pool != "pool" {
					t.Errorf("record %+v not on real time (now %d) or wrong pool", h, before)
				}
			}
		})
	}
}

// TestHistoryFaults: the real zfs logs only when it exits 0.
func TestHistoryFaults(t *testing.T) {
	cases := []struct {
		action  string
		logged  bool
		changed bool
	}{
		{ActionFail, false, false},
		{ActionFailAfter, false, true},
		{ActionExit0Noop, false, false},
		{ActionHang, false, false},
		{ActionHangAfter, true, true},
	}
	for _, c := range cases {
		t.Run(c.action, func(t *testing.T) {
			root := seeded(t)
			defer func(h func()) { hang = h }(hang)
			hang = func() {}
			if err := AddFault(root, Fault{Command: "zfs", Match: "destroy", Action: c.action}); err != nil {
				t.Fatal(err)
			}
			run(t, root, "zfs", "destroy", "pool/idisk1@base")
			s := load(t, root)
			if logged := len(s.History) > 6; logged != c.logged {
				t.Errorf("logged = %v, history %+v", logged, s.History[6:])
			}
			if changed := s.Zvol("pool/idisk1").Snapshot("base") == nil; changed != c.changed {
				t.Errorf("changed = %v", changed)
			}
			// zpool history shows exactly what the state holds.
			out := must(t, root, "zpool", "history", "pool").stdout
			if has := strings.Contains(out, " zfs destroy pool/idisk1@base\n"); has != c.logged {
				t.Errorf("zpool history shows the destroy = %v:\n%s", has, out)
			}
		})
	}
}

func TestZpoolList(t *testing.T) {
	root := seeded(t)
	if err := Update(root, func(s *State) error {
		s.Datasets = append(s.Datasets, &Dataset{Name: "apool", Type: "filesystem"})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args   string
		code   int
		stdout string
		stderr string
	}{
		{"list -H -o name", 0, "apool\npool\n", ""},
		{"list -Ho name pool", 0, "pool\n", ""},
		{"list -H -o name,health pool", 0, "pool\tONLINE\n", ""},
		{"list -o name pool", 0, "NAME\npool\n", ""},
		{"list -H -o name nope pool", 1, "pool\n", "cannot open 'nope': no such pool\n"},
		{"list -o bogus", 2, "", "bad property list: invalid property 'bogus'\nusage:\n\tlist [-Hp] [-o property[,...]] [-T d|u] [pool] ... [interval [count]]\n"},
		{"list -x", 2, "", "invalid option 'x'\nusage:\n\tlist [-Hp] [-o property[,...]] [-T d|u] [pool] ... [interval [count]]\n"},
	}
	for _, c := range cases {
		t.Run(c.args, func(t *testing.T) {
			r := run(t, root, append([]string{"zpool"}, strings.Fields(c.args)...)...)
			if r.code != c.code || r.stdout != c.stdout || r.stderr != c.stderr {
				t.Errorf("got %v", r)
			}
		})
	}
	if r := must(t, root, "zpool", "list", "-H", "pool"); len(strings.Split(r.stdout, "\t")) != 8 {
		t.Errorf("solaris default columns: %q", r.stdout)
	}
	if r := must(t, seededFlavor(t, FlavorIllumos), "zpool", "list", "-H", "pool"); len(strings.Split(r.stdout, "\t")) != 10 {
		t.Errorf("illumos default columns: %q", r.stdout)
	}
}

func TestRefusedLog(t *testing.T) {
	cases := []struct {
		name   string
		flavor string
		edit   func(*State)
		argv   []string
		reason string // "" = nothing logged
	}{
		{"solaris written@", FlavorSolaris, nil, []string{"zfs", "get", "-Hp", "written@snap1", "pool/idisk0"}, "bad property list: invalid property 'written@snap1'"},
		{"illumos written@ is fine", FlavorIllumos, nil, []string{"zfs", "get", "-Hp", "written@snap1", "pool/idisk0"}, ""},
		{"no-list-p", FlavorSolaris, func(s *State) { s.NoListP = true }, []string{"zfs", "list", "-Hp"}, "invalid option 'p'"},
		{"invalid type", FlavorIllumos, nil, []string{"zfs", "list", "-t", "fs"}, "invalid type 'fs'"},
		{"zfs usage", FlavorSolaris, nil, []string{"zfs", "rollback"}, "missing dataset argument"},
		{"zfs usage only", FlavorSolaris, nil, []string{"zfs", "snapshot", "pool/idisk0"}, "usage"},
		{"zfs unknown subcommand", FlavorSolaris, nil, []string{"zfs", "frob"}, "unrecognized command 'frob'"},
		{"operation failure is no refusal", FlavorSolaris, nil, []string{"zfs", "rollback", "pool/idisk0@snap1"}, ""},
		{"missing dataset is no refusal", FlavorSolaris, nil, []string{"zfs", "list", "pool/nope"}, ""},
		{"illumos list -s", FlavorIllumos, nil, []string{"zoneadm", "list", "-s"}, "-s: illegal option -- s"},
		{"solaris list -cs", FlavorSolaris, nil, []string{"zoneadm", "list", "-cs"},
			"zoneadm list -s combined with other options (unverified on Solaris 11.4, modelled as refused)"},
		{"solaris list -s", FlavorSolaris, nil, []string{"zoneadm", "list", "-s"}, ""},
		{"illumos kernel zone", FlavorIllumos, func(s *State) {
			s.Zones = []*Zone{{Name: "kz1", Brand: "solaris-kz", State: ZoneInstalled}}
		}, []string{"zoneadm", "-z", "kz1", "boot"}, "zoneadm: zone 'kz1': missing or invalid brand"},
		{"unknown zone is no refusal", FlavorSolaris, nil, []string{"zoneadm", "-z", "kz9", "boot"}, ""},
		{"no-delete-lu-keep", FlavorSolaris, func(s *State) { s.NoDeleteLUKeep = true }, []string{"stmfadm", "delete-lu", "-k", guid0},
			"stmfadm: no options permitted (delete-lu -k)"},
		{"no-delete-lu-keep long option", FlavorSolaris, func(s *State) { s.NoDeleteLUKeep = true }, []string{"stmfadm", "delete-lu", "--keep-views", guid0},
			"stmfadm: no options permitted (delete-lu -k)"},
		{"stmfadm invalid option", FlavorSolaris, nil, []string{"stmfadm", "delete-lu", "-v", guid0}, "stmfadm: '-v': invalid option (delete-lu)"},
		{"stmfadm missing operand", FlavorSolaris, nil, []string{"stmfadm", "delete-lu", "-k"}, "stmfadm: delete-lu requires an operand"},
		{"stmfadm busy is no refusal", FlavorSolaris, func(s *State) { s.LU(guid0).Busy = true }, []string{"stmfadm", "delete-lu", "-k", guid0}, ""},
		{"zpool option", FlavorSolaris, nil, []string{"zpool", "history", "-x"}, "invalid option 'x'"},
		{"zpool unknown pool is no refusal", FlavorSolaris, nil, []string{"zpool", "history", "nope"}, ""},
		{"zonecfg subcommand", FlavorSolaris, nil, []string{"zonecfg", "-z", "kz1", "export"}, "zonecfg: simulator supports only \"info\": export"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := seededFlavor(t, c.flavor)
			if c.edit != nil {
				if err := Update(root, func(s *State) error { c.edit(s); return nil }); err != nil {
					t.Fatal(err)
				}
			}
			run(t, root, c.argv...)
			rs, err := Refused(root)
			if err != nil {
				t.Fatal(err)
			}
			if c.reason == "" {
				if len(rs) != 0 {
					t.Errorf("logged %+v", rs)
				}
				return
			}
			if len(rs) != 1 || rs[0].Reason != c.reason || rs[0].Flavor != c.flavor || rs[0].Strict ||
				strings.Join(rs[0].Argv[1:], " ") != strings.Join(c.argv[1:], " ") || rs[0].Argv[0] != CommandPath(root, c.argv[0]) ||
				time.Since(rs[0].Time) > time.Minute {
				t.Errorf("logged %+v, want one with reason %q", rs, c.reason)
			}
		})
	}

	t.Run("strict marks records, output unchanged; clear", func(t *testing.T) {
		root := seeded(t)
		plain := run(t, root, "zfs", "get", "written", "pool")
		if err := SetStrict(root, true); err != nil {
			t.Fatal(err)
		}
		strict := run(t, root, "zfs", "get", "written", "pool")
		if plain != strict {
			t.Errorf("strict changed output: %v vs %v", plain, strict)
		}
		rs, _ := Refused(root)
		if len(rs) != 2 || rs[0].Strict || !rs[1].Strict {
			t.Errorf("records %+v", rs)
		}
		if err := ClearRefused(root); err != nil {
			t.Fatal(err)
		}
		if rs, err := Refused(root); err != nil || len(rs) != 0 {
			t.Errorf("after clear: %v %v", rs, err)
		}
		if err := ClearRefused(root); err != nil {
			t.Errorf("clearing twice: %v", err)
		}
	})
	t.Run("fail-after still logs the refusal, fail does not run", func(t *testing.T) {
		root := seeded(t)
		if err := AddFault(root, Fault{Command: "zfs", Match: "get", Action: ActionFailAfter, Times: 1}); err != nil {
			t.Fatal(err)
		}
		run(t, root, "zfs", "get", "written", "pool")
		if err := AddFault(root, Fault{Command: "zfs", Match: "list", Action: ActionFail}); err != nil {
			t.Fatal(err)
		}
		run(t, root, "zfs", "list", "-o", "written")
		if rs, _ := Refused(root); len(rs) != 1 || rs[0].Argv[1] != "get" {
			t.Errorf("records %+v", rs)
		}
	})
	// The manual rollback the daemon automates, on both Solaris-family
	// flavors, refuses nothing.
	for _, f := range []string{FlavorSolaris, FlavorIllumos} {
		t.Run("manual rollback refuses nothing on "+f, func(t *testing.T) {
			root := seededFlavor(t, f)
			if f == FlavorSolaris {
				must(t, root, "zoneadm", "-z", "kz1", "detach")
			}
			for _, argv := range [][]string{
				{"zoneadm", "list", "-cp"},
				{"stmfadm", "list-lu", "-v", guid0},
				{"stmfadm", "list-view", "-l", guid0},
				{"zfs", "list", "-H", "-o", "name,type,creation", "-t", "snapshot", "-r", "pool/idisk0"},
				{"zfs", "get", "-H", "-p", "-o", "name,property,value", "volsize,createtxg", "pool/idisk0"},
				{"stmfadm", "delete-lu", "-k", guid0},
				{"zfs", "rollback", "pool/idisk0@snap1"},
				{"zpool", "history", "pool"},
				{"stmfadm", "import-lu", "/dev/zvol/rdsk/pool/idisk0"},
				{"stmfadm", "list-view", "-l", guid0},
			} {
				must(t, root, argv...)
			}
			if f == FlavorSolaris {
				must(t, root, "zoneadm", "list", "-s")
				must(t, root, "zoneadm", "-z", "kz1", "attach", "-x", "initialize-hostdata")
			}
			if rs, err := Refused(root); err != nil || len(rs) != 0 {
				t.Errorf("refused %+v %v", rs, err)
			}
		})
	}
}

func TestRestartSTMF(t *testing.T) {
	t.Run("LUs come back from provider data with their metadata identity", func(t *testing.T) {
		root := seeded(t)
		if err := Update(root, func(s *State) error {
			s.LU(guid0).Alias = "changed in the kernel only"
			s.LU(guid0).State = "Offline"
			s.LU(guid0).Busy = true
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		before := load(t, root)
		if err := RestartSTMF(root); err != nil {
			t.Fatal(err)
		}
		s := load(t, root)
		for _, g := range []string{guid0, guid1} {
			lu := s.LU(g)
			if lu == nil || lu.State != "Online" || lu.Busy || lu.Size != 1<<30 || lu.Blk != 512 || lu.VID != "SUN     " {
				t.Fatalf("%s after restart: %+v", g, lu)
			}
		}
		if a := s.LU(guid0).Alias; a != "/dev/zvol/rdsk/pool/idisk0" {
			t.Errorf("alias %q, want the metadata's", a)
		}
		if viewsText(s.Views(guid0)) != viewsText(before.Views(guid0)) || viewsText(s.Views(guid0)) == "" || len(s.HostGroups) != 1 || len(s.TargetGroups) != 2 ||
			len(s.ProviderData) != 2 {
			t.Errorf("SMF state changed: views %v groups %v %v pd %v", s.Views(guid0), s.HostGroups, s.TargetGroups, s.ProviderData)
		}
		if r := must(t, root, "stmfadm", "list-lu"); r.stdout != "LU Name: "+guid0+"\nLU Name: "+guid1+"\n" {
			t.Errorf("list-lu %q", r.stdout)
		}
	})
	t.Run("failed delete-lu: the LU does not come back, its views stay unregistered", func(t *testing.T) {
		root := seeded(t)
		if err := Update(root, func(s *State) error { s.LU(guid0).Busy = true; return nil }); err != nil {
			t.Fatal(err)
		}
		if r := run(t, root, "stmfadm", "delete-lu", "-k", guid0); r.code != 1 || r.stderr != "stmfadm: resource busy\n" {
			t.Fatalf("delete-lu: %v", r)
		}
		s := load(t, root)
		if _, ok := s.ProviderData[lc0]; ok || s.LU(guid0) == nil {
			t.Fatalf("delete-lu must drop provider data before failing busy: pd %v", s.ProviderData)
		}
		if err := RestartSTMF(root); err != nil {
			t.Fatal(err)
		}
		s = load(t, root)
		if s.LU(guid0) != nil || len(s.Views(guid0)) != 2 || s.LU(guid1) == nil {
			t.Errorf("after restart: lu %+v views %v", s.LU(guid0), s.Views(guid0))
		}
		r := must(t, root, "stmfadm", "list-lu", "-v", guid0)
		if !strings.Contains(r.stdout, "Operational Status: unregistered\n") || !strings.Contains(r.stdout, "View Entry Count  : 2\n") {
			t.Errorf("list-lu -v %q", r.stdout)
		}
	})
	t.Run("an entry whose metadata cannot be read is dropped silently", func(t *testing.T) {
		root := seeded(t)
		if err := Update(root, func(s *State) error {
			s.Zvol("pool/idisk1").Props["stmf_sbd_lu"] = "00ff"
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if err := RestartSTMF(root); err != nil {
			t.Fatal(err)
		}
		if s := load(t, root); s.LU(guid1) != nil || s.LU(guid0) == nil || s.ProviderData[strings.ToLower(guid1)] == "" {
			t.Errorf("lu1 %+v pd %v", s.LU(guid1), s.ProviderData)
		}
	})
	t.Run("create-lu and import-lu persist, delete-lu forgets", func(t *testing.T) {
		root := seeded(t)
		must(t, root, "stmfadm", "delete-lu", "-k", guid1)
		if _, ok := load(t, root).ProviderData[strings.ToLower(guid1)]; ok {
			t.Fatal("delete-lu kept the provider data")
		}
		must(t, root, "stmfadm", "import-lu", "/dev/zvol/dsk/pool/idisk1")
		if p := load(t, root).ProviderData[strings.ToLower(guid1)]; p != "/dev/zvol/dsk/pool/idisk1" {
			t.Fatalf("import-lu persisted %q", p)
		}
		must(t, root, "stmfadm", "delete-lu", "-k", guid1)
		must(t, root, "stmfadm", "create-lu", "-p", "guid=600144F0000000000000000000000042", "/dev/zvol/rdsk/pool/idisk1")
		if err := RestartSTMF(root); err != nil {
			t.Fatal(err)
		}
		if lu := load(t, root).LU("600144F0000000000000000000000042"); lu == nil || lu.DataFile != "/dev/zvol/rdsk/pool/idisk1" {
			t.Errorf("created LU after restart: %+v", lu)
		}
	})
}

func viewsText(vs []*View) string {
	var b strings.Builder
	for _, v := range vs {
		fmt.Fprintf(&b, "%+v;", *v)
	}
	return b.String()
}

func TestKnobs(t *testing.T) {
	root := seeded(t)
	if err := SetKnob(root, KnobNoDeleteLUKeep, true); err != nil {
		t.Fatal(err)
	}
	if r := run(t, root, "stmfadm", "delete-lu", "-k", guid0); r.code != 1 ||
		r.stdout != "stmfadm: no options permitted\nUsage:\tstmfadm delete-lu <LU-name> [<LU-name>...]\n" || load(t, root).LU(guid0) == nil {
		t.Errorf("delete-lu -k without -k: %v", r)
	}
	if r := run(t, root, "stmfadm", "delete-lu"); r.stdout != "stmfadm: delete-lu requires an operand\nUsage:\tstmfadm delete-lu <LU-name> [<LU-name>...]\n" {
		t.Errorf("probe: %v", r)
	}
	must(t, root, "stmfadm", "delete-lu", guid1) // without -k it still works, views and all
	if s := load(t, root); s.LU(guid1) != nil || len(s.Views(guid1)) != 0 {
		t.Error("delete-lu did not delete")
	}
	if err := SetKnob(root, KnobNoDeleteLUKeep, false); err != nil {
		t.Fatal(err)
	}
	if r := run(t, root, "stmfadm", "delete-lu"); !strings.Contains(r.stdout, "[-k, --keep-views]") {
		t.Errorf("probe with -k: %v", r)
	}
	if err := SetKnob(root, KnobNoListP, true); err != nil || !load(t, root).NoListP {
		t.Fatal(err)
	}
	if err := SetKnob(root, "bogus", true); err == nil {
		t.Error("bogus knob accepted")
	}
}

func TestManageFlavors(t *testing.T) {
	var o, e bytes.Buffer
	sim := func(args ...string) int {
		o.Reset()
		e.Reset()
		return Main(append([]string{"volctl-sim"}, args...), nil, &o, &e)
	}
	root := t.TempDir()
	t.Setenv(FlavorEnv, "")
	os.Unsetenv(FlavorEnv)
	if c := sim("seed", root); c != 0 || load(t, root).flavor() != FlavorSolaris || load(t, root).Zone("kz1") == nil {
		t.Fatalf("seed: %d %s", c, e.String())
	}
	if c := sim("seed", root, "--flavor", "illumos"); c != 0 || load(t, root).Flavor != FlavorIllumos || len(load(t, root).Zones) != 0 {
		t.Fatalf("seed --flavor: %d %s", c, e.String())
	}
	if _, err := os.Lstat(CommandPath(root, "zpool")); err != nil {
		t.Errorf("zpool not installed: %v", err)
	}
	t.Setenv(FlavorEnv, FlavorOpenZFS)
	if c := sim("seed", root); c != 0 || load(t, root).Flavor != FlavorOpenZFS {
		t.Fatalf("seed from $%s: %d %s", FlavorEnv, c, e.String())
	}
	if c := sim("init", root, "--flavor=illumos"); c != 0 || load(t, root).Flavor != FlavorIllumos || len(load(t, root).Datasets) != 0 {
		t.Fatalf("init --flavor: %d %s", c, e.String())
	}
	t.Setenv(FlavorEnv, "hpux")
	if c := sim("seed", root); c != 1 || !strings.Contains(e.String(), "solaris-11.4, illumos, openzfs") {
		t.Errorf("bad $%s: %d %q", FlavorEnv, c, e.String())
	}
	if c := sim("seed", root, "--flavor", "aix"); c != 1 || e.String() != "volctl-sim: unknown flavor \"aix\" (valid: solaris-11.4, illumos, openzfs)\n" {
		t.Errorf("bad --flavor: %d %q", c, e.String())
	}
	for _, c := range []struct {
		args  []string
		code  int
		check func(*State) bool
	}{
		{[]string{"flavor", root, "solaris-11.4"}, 0, func(s *State) bool { return s.Flavor == FlavorSolaris }},
		{[]string{"flavor", root, "beos"}, 1, nil},
		{[]string{"knob", root, "no-list-p", "on"}, 0, func(s *State) bool { return s.NoListP }},
		{[]string{"knob", root, "no-delete-lu-keep", "on"}, 0, func(s *State) bool { return s.NoDeleteLUKeep }},
		{[]string{"knob", root, "no-list-p", "off"}, 0, func(s *State) bool { return !s.NoListP && s.NoDeleteLUKeep }},
		{[]string{"knob", root, "no-list-p", "maybe"}, 2, nil},
		{[]string{"knob", root, "frob", "on"}, 1, nil},
		{[]string{"strict", root, "on"}, 0, func(s *State) bool { return s.Strict }},
		{[]string{"strict", root, "off"}, 0, func(s *State) bool { return !s.Strict }},
		{[]string{"strict", root}, 2, nil},
		{[]string{"stmf-restart", root}, 0, nil},
	} {
		if got := sim(c.args...); got != c.code {
			t.Errorf("%v: exit %d, want %d (%s)", c.args, got, c.code, e.String())
		}
		if c.check != nil && !c.check(load(t, root)) {
			t.Errorf("%v: state %+v", c.args, load(t, root))
		}
	}
	// refused prints the log as JSON lines.
	run(t, root, "zfs", "get", "written", "pool")
	if c := sim("refused", root); c != 0 {
		t.Fatal(e.String())
	}
	var r Refusal
	if err := json.Unmarshal(o.Bytes(), &r); err != nil || r.Flavor != FlavorSolaris || r.Reason != "bad property list: invalid property 'written'" {
		t.Errorf("refused printed %q (%v)", o.String(), err)
	}
	if !strings.Contains(manageUsage, "volctl-sim stmf-restart ROOT") || !strings.Contains(manageUsage, "--flavor F") {
		t.Error("usage text not current")
	}
}
