package sim

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
)

// manageCmd is a volctl-sim management subcommand: its name (two words
// for fault, session and zone), how many arguments it takes after ROOT
// (any when nargs is nil), its lines of the usage (no final newline),
// and what it does.
type manageCmd struct {
	name  string
	nargs []int
	usage string
	run   func(root string, rest []string, stdout, stderr io.Writer) error
}

// manageCmds are the subcommands in the order of the usage.
var manageCmds = []manageCmd{
	{name: "init", usage: `  volctl-sim init ROOT [--flavor F]    empty host`,
		run: func(root string, rest []string, _, _ io.Writer) error {
			flavor, err := flavorFlag(rest)
			if err != nil {
				return err
			}
			return InitFlavor(root, flavor)
		}},
	{name: "seed", usage: `  volctl-sim seed ROOT [--flavor F] [--rescue-zone]
                                       seed scenario + command symlinks to this binary
                                       (F: solaris-11.4, illumos or openzfs; default
                                       $VOLCTL_SIM_FLAVOR, else solaris-11.4);
                                       --rescue-zone: also kernel zone kzrescue (rescue.go)`,
		run: func(root string, rest []string, _, _ io.Writer) error {
			rescue := slices.Contains(rest, "--rescue-zone")
			rest = slices.DeleteFunc(slices.Clone(rest), func(a string) bool { return a == "--rescue-zone" })
			flavor, err := flavorFlag(rest)
			if err != nil {
				return err
			}
			if err := SeedFlavor(root, flavor); err != nil {
				return err
			}
			if rescue {
				if err := AddRescueZone(root); err != nil {
					return err
				}
			}
			return installSelf(root)
		}},
	{name: "rescue-zone", usage: `  volctl-sim rescue-zone ROOT          add kernel zone kzrescue (boot disk pool/kzrescue0, id=1)`,
		run: func(root string, _ []string, _, _ io.Writer) error { return AddRescueZone(root) }},
	{name: "break-boot", nargs: []int{1}, usage: `  volctl-sim break-boot ROOT ZONE      import and export ZONE's root pool in the global zone
                                       (its label then has the global zone's phys_path)`,
		run: func(root string, rest []string, stdout, stderr io.Writer) error {
			return BreakBoot(root, rest[0], stdout, stderr)
		}},
	{name: "seed-two-hosts", nargs: []int{1, 2}, usage: `  volctl-sim seed-two-hosts STORAGE_ROOT ZONE_ROOT [--rescue-zone]
                                       storage host (seed LUs, no zone) + zone host (kz1,
                                       its initiator, fabric = STORAGE_ROOT), solaris-11.4,
                                       command symlinks in both; --rescue-zone: kzrescue on
                                       the zone host (boot disk rpool/kzrescue0)`,
		run: func(root string, rest []string, _, _ io.Writer) error {
			if len(rest) == 2 && rest[1] != "--rescue-zone" {
				return errManageUsage
			}
			if err := SeedTwoHosts(root, rest[0]); err != nil {
				return err
			}
			if len(rest) == 2 {
				if err := AddRescueZone(rest[0]); err != nil {
					return err
				}
			}
			if err := installSelf(root); err != nil {
				return err
			}
			return installSelf(rest[0])
		}},
	{name: "install", usage: `  volctl-sim install ROOT              only the command symlinks`,
		run: func(root string, _ []string, _, _ io.Writer) error { return installSelf(root) }},
	{name: "serve", usage: `  volctl-sim serve ROOT                run the host's commands in this one process until
                                       SIGTERM/SIGINT: ROOT/usr/sbin's commands become the
                                       volctl-sim-stub beside this binary, which forwards
                                       to ROOT/sim.sock (serve.go); prints "serving ROOT",
                                       and "served N commands" when it ends`,
		run: func(root string, _ []string, stdout, _ io.Writer) error { return serveUntilSignal(root, stdout) }},
	{name: "state", usage: `  volctl-sim state ROOT                dump state.json`,
		run: func(root string, _ []string, stdout, _ io.Writer) error {
			s, err := Load(root)
			if err != nil {
				return err
			}
			b, err := json.MarshalIndent(s, "", "  ")
			if err != nil {
				return err
			}
			_, err = stdout.Write(append(b, '\n'))
			return err
		}},
	{name: "flavor", nargs: []int{1}, usage: `  volctl-sim flavor ROOT F             switch the host to flavor F`,
		run: func(root string, rest []string, _, _ io.Writer) error { return SetFlavor(root, rest[0]) }},
	{name: "knob", nargs: []int{2}, usage: `  volctl-sim knob ROOT no-list-p|no-delete-lu-keep|new-lus-offline on|off`,
		run: func(root string, rest []string, _, _ io.Writer) error {
			on, err := onOff(rest[1])
			if err != nil {
				return err
			}
			return SetKnob(root, rest[0], on)
		}},
	{name: "lu-access", nargs: []int{2}, usage: `  volctl-sim lu-access ROOT GUID Active|Standby|Active->Standby|Standby->Active|Unknown
                                       an LU's ALUA access state (not Active: list-lu -v
                                       prints "prop unavailable in standby", its zvol is closed)`,
		run: func(root string, rest []string, _, _ io.Writer) error { return SetLUAccess(root, rest[0], rest[1]) }},
	{name: "lu-prop-error", nargs: []int{3}, usage: `  volctl-sim lu-prop-error ROOT GUID LABEL on|off
                                       list-lu -v prints "<error retrieving property>" for
                                       LABEL ("Data File", "Size", "Access State", ...)`,
		run: func(root string, rest []string, _, _ io.Writer) error {
			on, err := onOff(rest[2])
			if err != nil {
				return err
			}
			return SetLUPropError(root, rest[0], rest[1], on)
		}},
	{name: "onlining", nargs: []int{1}, usage: `  volctl-sim onlining ROOT DURATION    imported/created/onlined LUs show Onlining this
                                       long (e.g. 2s; 0 turns it off)`,
		run: func(root string, rest []string, _, _ io.Writer) error {
			d, err := time.ParseDuration(rest[0])
			if err != nil {
				return err
			}
			return SetOnlining(root, d)
		}},
	{name: "strict", nargs: []int{1}, usage: `  volctl-sim strict ROOT on|off        mark refusal records as strict (output unchanged)`,
		run: func(root string, rest []string, _, _ io.Writer) error {
			on, err := onOff(rest[0])
			if err != nil {
				return err
			}
			return SetStrict(root, on)
		}},
	{name: "refused", usage: `  volctl-sim refused ROOT              print refused.log as JSON lines`,
		run: func(root string, _ []string, stdout, _ io.Writer) error {
			rs, err := Refused(root)
			if err != nil {
				return err
			}
			enc := json.NewEncoder(stdout)
			for _, r := range rs {
				enc.Encode(r)
			}
			return nil
		}},
	{name: "stmf-restart", usage: `  volctl-sim stmf-restart ROOT         svcadm restart stmf / reboot: LUs back from provider data`,
		run: func(root string, _ []string, _, _ io.Writer) error { return RestartSTMF(root) }},
	{name: "fault add", usage: `  volctl-sim fault add ROOT --cmd CMD [--match S] [--nth N] [--times N]
                    --action fail|fail-after|fail-partway|hang|hang-after|exit0-noop [--exit N] [--stderr TEXT]
                    [--delay D]      a hang ends after D and the command goes on (acts)`,
		run: func(root string, rest []string, _, stderr io.Writer) error {
			f, err := parseFaultFlags(rest, stderr)
			if err != nil {
				return errManageFlags
			}
			return AddFault(root, *f)
		}},
	{name: "fault clear", usage: `  volctl-sim fault clear ROOT`,
		run: func(root string, _ []string, _, _ io.Writer) error { return ClearFaults(root) }},
	{name: "latency", nargs: []int{1}, usage: `  volctl-sim latency ROOT DURATION     e.g. 5ms; 0 turns it off`,
		run: func(root string, rest []string, _, _ io.Writer) error {
			d, err := time.ParseDuration(rest[0])
			if err != nil {
				return err
			}
			return SetLatency(root, d)
		}},
	{name: "concurrency", nargs: []int{0, 1}, usage: `  volctl-sim concurrency ROOT [host|global|state]
                                       which commands wait for which during their latency:
                                       host (default) the platform's locks, global one at a
                                       time, state none; without a model: print it`,
		run: func(root string, rest []string, stdout, _ io.Writer) error {
			if len(rest) == 1 {
				return SetConcurrency(root, rest[0])
			}
			m, err := ConcurrencyModel(root)
			if err != nil {
				return err
			}
			fmt.Fprintln(stdout, m)
			return nil
		}},
	{name: "write", nargs: []int{2}, usage: `  volctl-sim write ROOT POOL/VOL TEXT  replace a volume's data`,
		run: func(root string, rest []string, _, _ io.Writer) error {
			return WriteData(root, rest[0], []byte(rest[1]))
		}},
	{name: "read", nargs: []int{1}, usage: `  volctl-sim read ROOT POOL/VOL        print a volume's data`,
		run: func(root string, rest []string, stdout, _ io.Writer) error {
			b, err := ReadData(root, rest[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%s\n", b)
			return nil
		}},
	{name: "calls", usage: `  volctl-sim calls ROOT                print calls.log as JSON lines`,
		run: func(root string, _ []string, stdout, _ io.Writer) error {
			calls, err := Calls(root)
			if err != nil {
				return err
			}
			enc := json.NewEncoder(stdout)
			for _, c := range calls {
				enc.Encode(c)
			}
			return nil
		}},
	{name: "session add", nargs: []int{2, 3}, usage: `  volctl-sim session add ROOT TARGET INITIATOR [ALIAS]
                                       log an initiator in to a target (now)`,
		run: func(root string, rest []string, _, _ io.Writer) error {
			alias := ""
			if len(rest) == 3 {
				alias = rest[2]
			}
			return AddSession(root, rest[0], rest[1], alias)
		}},
	{name: "session remove", nargs: []int{2}, usage: `  volctl-sim session remove ROOT TARGET INITIATOR
                                       log it out`,
		run: func(root string, rest []string, _, _ io.Writer) error { return RemoveSession(root, rest[0], rest[1]) }},
	{name: "zone add", usage: `  volctl-sim zone add ROOT NAME BRAND [--state S] [--device REF]...
                    [--rootzpool URI]... [--zpool NAME=URI]...
                                       configure a zone that is not a kernel zone
                                       (REF: a storage URI or match=PATH)`,
		run: func(root string, rest []string, _, _ io.Writer) error { return manageZone("zone add", root, rest) }},
	{name: "zone storage", usage: `  volctl-sim zone storage ROOT ZONE ID REF
                                       set device ID's storage (kz1's too)`,
		run: func(root string, rest []string, _, _ io.Writer) error { return manageZone("zone storage", root, rest) }},
}

// manageUsage is the usage, every subcommand's lines in turn.
var manageUsage = func() string {
	u := "usage:\n"
	for _, c := range manageCmds {
		u += c.usage + "\n"
	}
	return u
}()

// errManageFlags: fault add's flags were refused (the flag package said
// why): exit 2 without the usage.
var errManageFlags = errors.New("bad flags")

// manage runs the volctl-sim management subcommands: the usage and exit 2
// for an unknown one or a wrong number of arguments (errManageUsage), exit
// 1 with the error when it fails.
func manage(args []string, stdout, stderr io.Writer) int {
	usage := func() int {
		fmt.Fprint(stderr, manageUsage)
		return 2
	}
	if len(args) < 2 {
		return usage()
	}
	name, root, rest := args[0], args[1], args[2:]
	if name == "fault" || name == "session" || name == "zone" {
		if len(args) < 3 {
			return usage()
		}
		name, root, rest = name+" "+args[1], args[2], args[3:]
	}
	i := slices.IndexFunc(manageCmds, func(c manageCmd) bool { return c.name == name })
	if i < 0 {
		return usage()
	}
	if c := manageCmds[i]; c.nargs != nil && !slices.Contains(c.nargs, len(rest)) {
		return usage()
	}
	switch err := manageCmds[i].run(root, rest, stdout, stderr); err {
	case nil:
		return 0
	case errManageUsage:
		return usage()
	case errManageFlags:
		return 2
	default:
		fmt.Fprintf(stderr, "volctl-sim: %v\n", err)
		return 1
	}
}

// onOff reads "on" or "off"; anything else is errManageUsage.
func onOff(v string) (bool, error) {
	switch v {
	case "on":
		return true, nil
	case "off":
		return false, nil
	}
	return false, errManageUsage
}

// flavorFlag reads an optional "--flavor F" (or --flavor=F); without it the
// flavor is DefaultFlavor().
func flavorFlag(args []string) (string, error) {
	switch {
	case len(args) == 0:
		return DefaultFlavor()
	case len(args) == 2 && args[0] == "--flavor":
		return args[1], checkFlavor(args[1])
	case len(args) == 1 && strings.HasPrefix(args[0], "--flavor="):
		f := strings.TrimPrefix(args[0], "--flavor=")
		return f, checkFlavor(f)
	}
	return "", fmt.Errorf("unexpected arguments %q (want [--flavor F])", args)
}

func installSelf(root string) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own executable: %w", err)
	}
	return InstallCommands(root, exe)
}

func parseFaultFlags(args []string, stderr io.Writer) (*Fault, error) {
	f := &Fault{}
	fs := flag.NewFlagSet("volctl-sim fault add", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.Command, "cmd", "", "command: zfs, zpool, stmfadm, zoneadm or zonecfg")
	fs.StringVar(&f.Match, "match", "", "substring of the space-joined argv")
	fs.IntVar(&f.Nth, "nth", 0, "first matching invocation that triggers (1-based; 0 = every)")
	fs.IntVar(&f.Times, "times", 0, "triggers before the rule is spent (0 = unlimited)")
	fs.StringVar(&f.Action, "action", "", "fail, fail-after, fail-partway (stmfadm delete-lu), hang, hang-after or exit0-noop")
	fs.IntVar(&f.Exit, "exit", 0, "exit status for fail/fail-after/fail-partway (0 means 1)")
	fs.StringVar(&f.Stderr, "stderr", "", "text printed on stderr")
	fs.StringVar(&f.Delay, "delay", "", "hang and hang-after: end the hang after this long (e.g. 2s) and go on; default: until killed")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "volctl-sim: unexpected argument %q\n", fs.Arg(0))
		return nil, fmt.Errorf("unexpected argument")
	}
	if err := f.validate(); err != nil {
		fmt.Fprintf(stderr, "volctl-sim: %v\n", err)
		return nil, err
	}
	return f, nil
}
