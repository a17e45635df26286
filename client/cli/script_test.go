package cli_test

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/volctl/volctl/daemon/bootcheck/bootchecktest"
	"github.com/volctl/volctl/sim"
	"github.com/volctl/volctl/sim/simtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	simtest.Cleanup()
	os.Exit(code)
}

// TestScripts runs the CLI transcripts in testdata/script: the real volctl
// against a real volctld on a seeded simulated host, once per flavor
// (simtest.Flavors: solaris-11.4 and illumos). A script tells the flavors
// apart with the conditions [kz] (the flavor has kernel zones: Solaris
// 11.4 only, docs/platform/zones.md §1) and [flavor:NAME], or with $FLAVOR; a
// transcript about kernel zones starts with [!kz] skip.
func TestScripts(t *testing.T) {
	bin := simtest.Build(t)
	simtest.ForFlavors(t, func(t *testing.T, flavor string) {
		t.Parallel()
		testscript.Run(t, scriptParams(bin, flavor))
	})
}

func scriptParams(bin, flavor string) testscript.Params {
	return testscript.Params{
		Dir: "testdata/script",
		Condition: func(cond string) (bool, error) {
			switch {
			case cond == "kz":
				return simtest.KernelZones(flavor), nil
			case strings.HasPrefix(cond, "flavor:"):
				name := strings.TrimPrefix(cond, "flavor:")
				if !slices.Contains(sim.Flavors(), name) {
					return false, fmt.Errorf("unknown flavor %q in [%s] (valid: %s)", name, cond, strings.Join(sim.Flavors(), ", "))
				}
				return name == flavor, nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Setup: func(env *testscript.Env) error {
			root := filepath.Join(env.WorkDir, "host")
			if err := sim.SeedFlavor(root, flavor); err != nil {
				return err
			}
			if err := sim.InstallCommands(root, filepath.Join(bin, "volctl-sim")); err != nil {
				return err
			}
			env.Defer(func() { simtest.KillHung(root) })
			if simtest.ServeHosts() {
				srv, err := simtest.StartServer(bin, root)
				if err != nil {
					return err
				}
				env.Defer(func() {
					if err := srv.Stop(); err != nil {
						env.T().Fatal(err)
					}
				})
			}
			if err := bootchecktest.EnsureSimImages(root); err != nil {
				return err
			}
			// Unix socket paths are limited to 108 bytes; WorkDir can be long.
			sockDir, err := os.MkdirTemp("", "vs")
			if err != nil {
				return err
			}
			env.Defer(func() { os.RemoveAll(sockDir) })
			sock := filepath.Join(sockDir, "s")
			cfg := fmt.Sprintf(`platform = "solaris"
socket = %q
db = %q
retry_delay = "10ms"
initiators = ["iqn.1986-03.com.sun:01:sim-host1"]
zvol_device_dir = %q
[commands]
zfs = %q
zpool = %q
stmfadm = %q
zoneadm = %q
zonecfg = %q
zlogin = %q
[roles]
operator_uids = [%d]
`, sock, filepath.Join(env.WorkDir, "journal.db"), bootchecktest.SimDir(root), sim.CommandPath(root, "zfs"), sim.CommandPath(root, "zpool"), sim.CommandPath(root, "stmfadm"),
				sim.CommandPath(root, "zoneadm"), sim.CommandPath(root, "zonecfg"), sim.CommandPath(root, "zlogin"), os.Getuid())
			if err := os.WriteFile(filepath.Join(env.WorkDir, "volctld.toml"), []byte(cfg), 0o644); err != nil {
				return err
			}
			env.Setenv("PATH", bin+string(os.PathListSeparator)+root+"/usr/sbin"+string(os.PathListSeparator)+os.Getenv("PATH"))
			env.Setenv("VOLCTL_SOCKET", sock)
			env.Setenv("HOST", root)
			env.Setenv("FLAVOR", flavor)
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			// bootlabel VOL kz|global: write VOL's device image on $HOST
			// with a root pool label as kz1 leaves it (phys_path
			// /zvnex/zvblk@0:b) or as a global zone's zpool import does
			// (the LU's scsi_vhci path, host storage1).
			"bootlabel": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 2 || (args[1] != "kz" && args[1] != "global") {
					ts.Fatalf("usage: bootlabel VOL kz|global")
				}
				p := bootchecktest.KZ1("/zvnex/zvblk@0:b")
				if args[1] == "global" {
					p = bootchecktest.KZ1(bootchecktest.GlobalPath)
					p.Hostname, p.HostID = "storage1", 0x2e7d2173
				}
				ts.Check(bootchecktest.Write(filepath.Join(bootchecktest.SimDir(ts.Getenv("HOST")), args[0]),
					bootchecktest.Image{Size: 1 << 30, Pools: []bootchecktest.Pool{p}}))
			},
			// waitsock waits until volctld answers on $VOLCTL_SOCKET.
			"waitsock": func(ts *testscript.TestScript, neg bool, args []string) {
				sock := ts.Getenv("VOLCTL_SOCKET")
				for i := 0; i < 200; i++ {
					if c, err := net.Dial("unix", sock); err == nil {
						c.Close()
						return
					}
					time.Sleep(25 * time.Millisecond)
				}
				ts.Fatalf("volctld did not listen on %s", sock)
			},
			// zonedisk ZONE ID BOOTPRI GUID: give a zone of $HOST another
			// device, an iSCSI LU (BOOTPRI - for none).
			"zonedisk": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 4 {
					ts.Fatalf("usage: zonedisk ZONE ID BOOTPRI GUID")
				}
				id, err := strconv.Atoi(args[1])
				if err != nil {
					ts.Fatalf("zonedisk: %v", err)
				}
				d := &sim.ZoneDevice{ID: id, Storage: "iscsi://127.0.0.1:3260/luname.naa." + strings.ToLower(args[3])}
				if args[2] != "-" {
					bp, err := strconv.Atoi(args[2])
					if err != nil {
						ts.Fatalf("zonedisk: %v", err)
					}
					d.BootPri = &bp
				}
				ts.Check(sim.Update(ts.Getenv("HOST"), func(s *sim.State) error {
					z := s.Zone(args[0])
					if z == nil {
						return fmt.Errorf("no zone %s", args[0])
					}
					z.Devices = append(z.Devices, d)
					return nil
				}))
			},
			// waithung waits until a command on $HOST hangs (a "hang" or
			// "hang-after" fault).
			"waithung": func(ts *testscript.TestScript, neg bool, args []string) {
				for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
					calls, _ := sim.Calls(ts.Getenv("HOST"))
					for _, c := range calls {
						if c.Exit == -1 && c.Fault != "" {
							return
						}
					}
				}
				ts.Fatalf("no command on $HOST hung")
			},
			// killhung kills the commands hanging on $HOST.
			"killhung": func(ts *testscript.TestScript, neg bool, args []string) {
				simtest.KillHung(ts.Getenv("HOST"))
			},
			// until PATTERN prog args...: run prog (once a second, 20 s
			// at most) until it succeeds with stdout matching PATTERN.
			"until": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) < 2 {
					ts.Fatalf("usage: until PATTERN prog args...")
				}
				re := regexp.MustCompile("(?m)" + args[0])
				for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(time.Second) {
					if ts.Exec(args[1], args[2:]...) == nil && re.MatchString(ts.ReadFile("stdout")) {
						return
					}
					if time.Now().After(deadline) {
						ts.Fatalf("%s: no stdout matching %q in 20 s", args[1], args[0])
					}
				}
			},
			// sleep D: wait D (a time.ParseDuration string): only where
			// nothing can be observed, e.g. a client's stream in flight.
			"sleep": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 1 {
					ts.Fatalf("usage: sleep DURATION")
				}
				d, err := time.ParseDuration(args[0])
				ts.Check(err)
				time.Sleep(d)
			},
			// code N prog args...: run prog and require exit status N.
			"code": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) < 2 {
					ts.Fatalf("usage: code N prog args...")
				}
				want, err := strconv.Atoi(args[0])
				if err != nil {
					ts.Fatalf("code: %v", err)
				}
				err = ts.Exec(args[1], args[2:]...)
				got := 0
				var ee *exec.ExitError
				if errors.As(err, &ee) {
					got = ee.ExitCode()
				} else if err != nil {
					ts.Fatalf("%s: %v", args[1], err)
				}
				if got != want {
					ts.Fatalf("%s exited %d, want %d", args[1], got, want)
				}
			},
		},
	}
}
