package sim

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

const manageUsage = `usage:
  volctl-sim init ROOT [--flavor F]    empty host
  volctl-sim seed ROOT [--flavor F]    seed scenario + command symlinks to this binary
                                       (F: solaris-11.4, illumos or openzfs; default
                                       $VOLCTL_SIM_FLAVOR, else solaris-11.4)
  volctl-sim seed-two-hosts STORAGE_ROOT ZONE_ROOT
                                       storage host (seed LUs, no zone) + zone host (kz1,
                                       its initiator, fabric = STORAGE_ROOT), solaris-11.4,
                                       command symlinks in both
  volctl-sim install ROOT              only the command symlinks
  volctl-sim state ROOT                dump state.json
  volctl-sim flavor ROOT F             switch the host to flavor F
  volctl-sim knob ROOT no-list-p|no-delete-lu-keep|new-lus-offline on|off
  volctl-sim lu-access ROOT GUID Active|Standby|Active->Standby|Standby->Active|Unknown
                                       an LU's ALUA access state (not Active: list-lu -v
                                       prints "prop unavailable in standby", its zvol is closed)
  volctl-sim lu-prop-error ROOT GUID LABEL on|off
                                       list-lu -v prints "<error retrieving property>" for
                                       LABEL ("Data File", "Size", "Access State", ...)
  volctl-sim onlining ROOT DURATION    imported/created/onlined LUs show Onlining this
                                       long (e.g. 2s; 0 turns it off)
  volctl-sim strict ROOT on|off        mark refusal records as strict (output unchanged)
  volctl-sim refused ROOT              print refused.log as JSON lines
  volctl-sim stmf-restart ROOT         svcadm restart stmf / reboot: LUs back from provider data
  volctl-sim fault add ROOT --cmd CMD [--match S] [--nth N] [--times N]
                    --action fail|fail-after|fail-partway|hang|hang-after|exit0-noop [--exit N] [--stderr TEXT]
                    [--delay D]      a hang ends after D and the command goes on (acts)
  volctl-sim fault clear ROOT
  volctl-sim latency ROOT DURATION     e.g. 5ms; 0 turns it off
  volctl-sim write ROOT POOL/VOL TEXT  replace a volume's data
  volctl-sim read ROOT POOL/VOL        print a volume's data
  volctl-sim calls ROOT                print calls.log as JSON lines
  volctl-sim session add ROOT TARGET INITIATOR [ALIAS]
                                       log an initiator in to a target (now)
  volctl-sim session remove ROOT TARGET INITIATOR
                                       log it out
  volctl-sim zone add ROOT NAME BRAND [--state S] [--device REF]...
                    [--rootzpool URI]... [--zpool NAME=URI]...
                                       configure a zone that is not a kernel zone
                                       (REF: a storage URI or match=PATH)
  volctl-sim zone storage ROOT ZONE ID REF
                                       set device ID's storage (kz1's too)
`

// manage runs the volctl-sim management subcommands.
func manage(args []string, stdout, stderr io.Writer) int {
	fail := func(err error) int {
		fmt.Fprintf(stderr, "volctl-sim: %v\n", err)
		return 1
	}
	if len(args) < 2 {
		fmt.Fprint(stderr, manageUsage)
		return 2
	}
	cmd, root, rest := args[0], args[1], args[2:]
	if cmd == "fault" || cmd == "session" || cmd == "zone" {
		if len(args) < 3 {
			fmt.Fprint(stderr, manageUsage)
			return 2
		}
		cmd, root, rest = cmd+" "+args[1], args[2], args[3:]
	}
	usage := func() int {
		fmt.Fprint(stderr, manageUsage)
		return 2
	}
	onOff := func(v string) (bool, bool) {
		switch v {
		case "on":
			return true, true
		case "off":
			return false, true
		}
		return false, false
	}
	var err error
	switch cmd {
	case "init", "seed":
		var flavor string
		if flavor, err = flavorFlag(rest); err != nil {
			return fail(err)
		}
		if cmd == "init" {
			err = InitFlavor(root, flavor)
		} else if err = SeedFlavor(root, flavor); err == nil {
			err = installSelf(root)
		}
	case "seed-two-hosts":
		if len(rest) != 1 {
			return usage()
		}
		if err = SeedTwoHosts(root, rest[0]); err == nil {
			if err = installSelf(root); err == nil {
				err = installSelf(rest[0])
			}
		}
	case "session add":
		if len(rest) != 2 && len(rest) != 3 {
			return usage()
		}
		alias := ""
		if len(rest) == 3 {
			alias = rest[2]
		}
		err = AddSession(root, rest[0], rest[1], alias)
	case "session remove":
		if len(rest) != 2 {
			return usage()
		}
		err = RemoveSession(root, rest[0], rest[1])
	case "zone add", "zone storage":
		if err = manageZone(cmd, root, rest); err == errManageUsage {
			return usage()
		}
	case "flavor":
		if len(rest) != 1 {
			return usage()
		}
		err = SetFlavor(root, rest[0])
	case "knob":
		if len(rest) != 2 {
			return usage()
		}
		on, ok := onOff(rest[1])
		if !ok {
			return usage()
		}
		err = SetKnob(root, rest[0], on)
	case "lu-access":
		if len(rest) != 2 {
			return usage()
		}
		err = SetLUAccess(root, rest[0], rest[1])
	case "lu-prop-error":
		if len(rest) != 3 {
			return usage()
		}
		on, ok := onOff(rest[2])
		if !ok {
			return usage()
		}
		err = SetLUPropError(root, rest[0], rest[1], on)
	case "onlining":
		if len(rest) != 1 {
			return usage()
		}
		var d time.Duration
		if d, err = time.ParseDuration(rest[0]); err == nil {
			err = SetOnlining(root, d)
		}
	case "strict":
		if len(rest) != 1 {
			return usage()
		}
		on, ok := onOff(rest[0])
		if !ok {
			return usage()
		}
		err = SetStrict(root, on)
	case "refused":
		var rs []Refusal
		if rs, err = Refused(root); err == nil {
			enc := json.NewEncoder(stdout)
			for _, r := range rs {
				enc.Encode(r)
			}
		}
	case "stmf-restart":
		err = RestartSTMF(root)
	case "install":
		err = installSelf(root)
	case "state":
		var s *State
		if s, err = Load(root); err == nil {
			var b []byte
			b, err = encodeState(s)
			stdout.Write(b)
		}
	case "fault add":
		var f *Fault
		if f, err = parseFaultFlags(rest, stderr); err != nil {
			return 2
		}
		err = AddFault(root, *f)
	case "fault clear":
		err = ClearFaults(root)
	case "latency":
		if len(rest) != 1 {
			fmt.Fprint(stderr, manageUsage)
			return 2
		}
		var d time.Duration
		if d, err = time.ParseDuration(rest[0]); err == nil {
			err = SetLatency(root, d)
		}
	case "write":
		if len(rest) != 2 {
			fmt.Fprint(stderr, manageUsage)
			return 2
		}
		err = WriteData(root, rest[0], []byte(rest[1]))
	case "read":
		if len(rest) != 1 {
			fmt.Fprint(stderr, manageUsage)
			return 2
		}
		var b []byte
		if b, err = ReadData(root, rest[0]); err == nil {
			fmt.Fprintf(stdout, "%s\n", b)
		}
	case "calls":
		var calls []Call
		if calls, err = Calls(root); err == nil {
			enc := json.NewEncoder(stdout)
			for _, c := range calls {
				enc.Encode(c)
			}
		}
	default:
		fmt.Fprint(stderr, manageUsage)
		return 2
	}
	if err != nil {
		return fail(err)
	}
	return 0
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
