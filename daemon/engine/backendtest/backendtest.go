// Package backendtest is the contract every backend (engine.Backend) must
// meet, as one suite of tests that each backend's own tests run against its
// hosts (the shape of containerd's snapshotter test suite): the Solaris
// backend against each Solaris-family flavor of the simulator, the Linux
// backend against the real stack.
//
// A case acts only through engine.Backend (Probe, Capture, Steps,
// VolumeOf) and engine.Engine (Plan, Rollback), and judges by the Host's
// own read-back of the host, never by what the backend says. What is
// platform-specific (which commands only read, which planned commands are
// conditional, how to make a command fail, where the platform legitimately
// differs: Capabilities) is the Host's to say. A case a
// backend cannot meet is skipped with the reason its test gives (Run's
// skips), never silently.
//
// The fault and crash suites (every command failing, a crash before and
// after every step) stay with each backend; this suite is the contract, a
// case or two per rule, and keeps its run time small.
package backendtest

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/store"
)

// Host is a fresh host with the seed scenario: Seed.Volume is exported
// (one LU or more, with views or ACLs), has the snapshot Seed.Snapshot, and
// its data has changed since.
type Host interface {
	// Backend returns a new instance of the backend under test for this
	// host: nothing probed, nothing kept, as after a daemon restart.
	Backend() engine.Backend
	// Seed names the scenario's objects.
	Seed() Seed
	// State reads back what a rollback of Seed.Volume must keep or
	// restore, without the backend: from the host's own records, its
	// commands or an initiator. It does not fail the test: what it cannot
	// read it says in the State.
	State(t *testing.T) State
	// Snapshot takes a snapshot directly, as an admin would.
	Snapshot(t *testing.T, name string)
	// Reads reports whether argv (as the backend runs it) only reads the
	// host.
	Reads(argv []string) bool
	// Conditional reports a planned command that changes the host but that
	// a step runs only where the host needs it (a value the plan cannot
	// know, a state it cannot foresee). Every other planned command that
	// changes the host runs in a rollback that succeeds.
	Conditional(argv []string) bool
	// Inject makes the host misbehave from now on as f says, and reports
	// whether it can.
	Inject(t *testing.T, f Fault) bool
	// Capabilities say where this backend legitimately differs from
	// others, so that a case knows what to expect instead of guessing.
	Capabilities() Capabilities
}

// Capabilities are where backends legitimately differ.
type Capabilities struct {
	// Zones: the platform has zones, so halt_zones and keep_hostdata are
	// consents a capture takes. A platform without zones refuses each as
	// InvalidArgument before any command runs: accepted silently, they
	// would let an admin believe they did something.
	Zones bool
}

// Seed names the objects of the seed scenario.
type Seed struct {
	// Volume is exported and Snapshot is its snapshot; the data changed
	// since.
	Volume, Snapshot string
	// MissingSnapshot is a snapshot of Volume that does not exist, and
	// MissingVolume a snapshot of a volume that does not exist.
	MissingSnapshot, MissingVolume string
	// NewerSnapshot is a name for a snapshot of Volume, not taken yet.
	NewerSnapshot string
}

// State is what a Host reads back about the seed's volume.
type State struct {
	// Exports are the volume's LUs, sorted by ID.
	Exports []Export
	// Data is DataAtSnapshot, DataAfter, or what the host found instead.
	Data string
	// Snapshots are the volume's snapshots (full names), sorted.
	Snapshots []string
	// Other is everything else a rollback must leave or bring back as it
	// was (zones and whether their keys read the disk's host data, other
	// volumes' LUs), one line per item, sorted.
	Other []string
}

// The volume's data as a Host reports it.
const (
	DataAtSnapshot = "at the snapshot"
	DataAfter      = "changed since the snapshot"
)

// Export is one LU as the host shows it.
type Export struct {
	// ID is the LU's designator (store.LU.GUID): a COMSTAR GUID, tgt's
	// scsi_id.
	ID string
	// File is its backing store (store.LU.DataFile).
	File string
	// Views are where it is exported, each "HOSTGROUP|TARGETGROUP|LUN" as
	// store.View names them (ViewString), sorted.
	Views []string
	// Props are everything else the host shows of it (properties, state,
	// persistence, what an initiator reads), compared before and after.
	Props []string
}

// ViewString is a view as Export.Views holds it.
func ViewString(v store.View) string {
	return v.HostGroup + "|" + v.TargetGroup + "|" + strconv.Itoa(v.LUN)
}

// Fault is a misbehaviour a Host can inject. A Host knows which of its
// platform's commands each concerns.
type Fault int

const (
	// CommitFails: the commit command (zfs rollback) exits 1 with
	// FaultText on stderr and changes nothing.
	CommitFails Fault = iota + 1
	// LUListingGarbled: the command that lists the LUs (stmfadm list-lu;
	// tgtadm --op show) exits 0 and prints FaultText, which is no listing.
	LUListingGarbled
	// VolumeListingGarbled: the command that reads the volume (zfs list,
	// zfs get) exits 0 and prints FaultText.
	VolumeListingGarbled
	// ForeignSession: an initiator the backend does not expect (not its
	// host's, no zone host's) logs in to a target that exports
	// Seed.Volume, until the test ends.
	ForeignSession
)

func (f Fault) String() string {
	switch f {
	case CommitFails:
		return "the commit command fails"
	case LUListingGarbled:
		return "the LU listing is garbled"
	case VolumeListingGarbled:
		return "the volume listing is garbled"
	case ForeignSession:
		return "a foreign initiator is logged in"
	}
	return "fault " + strconv.Itoa(int(f))
}

// FaultText is what an injected fault prints, so that a case can tell the
// error quotes it.
const FaultText = "volctl-backendtest injected this text"

// Case names, for Run's skips.
const (
	CaseCaptureIdentity   = "capture-records-export-identity"
	CaseMissingSnapshot   = "capture-missing-snapshot-not-found"
	CaseMissingVolume     = "capture-missing-volume-not-found"
	CaseBadNames          = "bad-names-refused-before-anything-runs"
	CaseOptions           = "options-refused-where-meaningless"
	CaseForeignSession    = "foreign-session-needs-accept-sessions"
	CaseNewerSnapshots    = "newer-snapshots-need-destroy-newer"
	CaseStepsFromJournal  = "steps-same-after-restart"
	CasePlanIsDryRun      = "plan-is-a-dry-run-of-the-rollback"
	CasePlanShowsWhatRuns = "plan-shows-what-runs"
	CaseRollback          = "rollback-restores-identity"
	CaseUndoAfterDo       = "undo-after-do-restores-capture"
	CaseCommitFails       = "commit-failure-compensates"
	CaseGarbledLUs        = "garbled-lu-listing-refused"
	CaseGarbledVolume     = "garbled-volume-listing-refused"
)

type testCase struct {
	name string
	run  func(t *testing.T, newHost func(*testing.T) Host)
}

// cases are the contract, in the order they run.
var cases = []testCase{
	{CaseCaptureIdentity, testCaptureIdentity},
	{CaseMissingSnapshot, testMissingSnapshot},
	{CaseMissingVolume, testMissingVolume},
	{CaseBadNames, testBadNames},
	{CaseOptions, testOptions},
	{CaseForeignSession, testForeignSession},
	{CaseNewerSnapshots, testNewerSnapshots},
	{CaseStepsFromJournal, testStepsFromJournal},
	{CasePlanIsDryRun, testPlanIsDryRun},
	{CasePlanShowsWhatRuns, testPlanShowsWhatRuns},
	{CaseRollback, testRollback},
	{CaseUndoAfterDo, testUndoAfterDo},
	{CaseCommitFails, testCommitFails},
	{CaseGarbledLUs, testGarbledLUs},
	{CaseGarbledVolume, testGarbledVolume},
}

// Cases lists the case names.
func Cases() []string {
	var out []string
	for _, c := range cases {
		out = append(out, c.name)
	}
	return out
}

// Run runs every case as a subtest of t, each on a fresh host from
// newHost. name says which backend and host in messages. skips are the
// cases this backend cannot meet, by name, with the reason; a case that
// needs what its Host cannot give (Inject returns false) and has no reason
// here fails.
func Run(t *testing.T, name string, newHost func(t *testing.T) Host, skips map[string]string) {
	t.Helper()
	for k, why := range skips {
		if !slices.Contains(Cases(), k) {
			t.Fatalf("%s: skips name %q, which is no case of the suite (%s)", name, k, strings.Join(Cases(), ", "))
		}
		if strings.TrimSpace(why) == "" {
			t.Fatalf("%s: case %s is skipped without a reason", name, k)
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if why, ok := skips[c.name]; ok {
				t.Skipf("%s does not meet %s: %s", name, c.name, why)
			}
			c.run(t, newHost)
		})
	}
}

// inject asks h for f; a host that cannot is a failure (Run's skips must
// name the case instead).
func inject(t *testing.T, h Host, f Fault) {
	t.Helper()
	if !h.Inject(t, f) {
		t.Fatalf("the host cannot inject %q and the backend's test gives no reason to skip this case", f)
	}
}

// captured is what a capture recorded of the LUs, in the Host's terms:
// ID, File and Views (Props are the host's alone).
func captured(lus []store.LU) []Export {
	var out []Export
	for _, l := range lus {
		e := Export{ID: l.GUID, File: l.DataFile}
		for _, v := range l.Views {
			e.Views = append(e.Views, ViewString(v))
		}
		slices.Sort(e.Views)
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b Export) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// identityOf is an export without Props, as a capture records it.
func identityOf(es []Export) []string {
	var out []string
	for _, e := range es {
		out = append(out, fmt.Sprintf("LU %q on %s, views %q", e.ID, e.File, e.Views))
	}
	return out
}

// diff lists what differs between want and got, the data excepted.
func diff(want, got State) []string {
	var bad []string
	wa, ga := exportLines(want.Exports), exportLines(got.Exports)
	for _, l := range wa {
		if !slices.Contains(ga, l) {
			bad = append(bad, "missing or changed: "+l)
		}
	}
	for _, l := range ga {
		if !slices.Contains(wa, l) {
			bad = append(bad, "now:                "+l)
		}
	}
	if !slices.Equal(want.Snapshots, got.Snapshots) {
		bad = append(bad, fmt.Sprintf("snapshots %q, want %q", got.Snapshots, want.Snapshots))
	}
	for _, o := range want.Other {
		if !slices.Contains(got.Other, o) {
			bad = append(bad, "missing or changed: "+o)
		}
	}
	for _, o := range got.Other {
		if !slices.Contains(want.Other, o) {
			bad = append(bad, "now:                "+o)
		}
	}
	return bad
}

func exportLines(es []Export) []string {
	var out []string
	for _, e := range es {
		out = append(out, fmt.Sprintf("LU %q on %s, views %q, %s", e.ID, e.File, e.Views, strings.Join(e.Props, ", ")))
	}
	return out
}

// same fails the test unless got is want with its data as data says.
func same(t *testing.T, what string, want, got State, data string) {
	t.Helper()
	bad := diff(want, got)
	if got.Data != data {
		bad = append(bad, fmt.Sprintf("data %s, want %s", got.Data, data))
	}
	if len(want.Exports) == 0 {
		bad = append(bad, "the host shows no LU on the seed's volume before: the case proves nothing")
	}
	if len(bad) > 0 {
		t.Errorf("%s: the host is not as it was:\n  %s", what, strings.Join(bad, "\n  "))
	}
}
