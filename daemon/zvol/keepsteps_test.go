package zvol

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/daemon/zfs"
	"github.com/volctl/volctl/store"
)

// The keep steps' datasets: pool/vol rolled back to s1, kept as KEPT; an
// undo brings RESTORE back.
const (
	vol     = "pool/vol"
	kept    = "pool/vol.kept-9-20261207T152435Z"
	restore = "pool/vol.kept-7-20261207T150000Z"
)

func keepID() store.Identity {
	return store.Identity{Volume: vol, Snapshot: vol + "@s1", Kept: kept,
		LocalProps: map[string]string{"compression": "on", "com.example:x": "a b"}}
}

func undoID() store.Identity {
	id := keepID()
	id.Restore = restore
	return id
}

// ds is a dataset's state for the fake host: absent, or present with an
// origin and a mark ("" none).
type ds struct {
	absent       bool
	origin, mark string
}

var (
	gone = ds{absent: true}
	// plain is a dataset that is not a clone and has no mark.
	plain = ds{}
)

func lookKey(name string) string {
	return "zfs get -H -p -o name,property,value,source origin," + KeptMarkProp + " " + name
}

func lookReply(name string, d ds) reply {
	if d.absent {
		return reply{stderr: "cannot open '" + name + "': dataset does not exist\n", exit: 1}
	}
	origin, mark, src := "-", "-", "-"
	if d.origin != "" {
		origin = d.origin
	}
	if d.mark != "" {
		mark, src = d.mark, "local"
	}
	return reply{out: name + "\torigin\t" + origin + "\t-\n" + name + "\t" + KeptMarkProp + "\t" + mark + "\t" + src + "\n"}
}

// zworld is a fake zfs that keeps the datasets' states: looks read them,
// and rename, clone, destroy, promote, set and inherit of volctl:kept
// change them; any other command is answered from the host's replies.
// noop makes a command exit 0 and change nothing (a lying command).
type zworld struct {
	*host
	ds   map[string]ds
	noop string
}

func (w *zworld) run(ctx context.Context, argv []string) (*execx.Result, error) {
	key := strings.Join(argv, " ")
	a := argv[1:]
	ok := func() (*execx.Result, error) {
		w.ran = append(w.ran, key)
		return &execx.Result{Argv: argv}, nil
	}
	if key == w.noop {
		return ok()
	}
	get := func(n string) ds {
		d, found := w.ds[n]
		if !found {
			return gone
		}
		return d
	}
	switch {
	case len(a) == 7 && a[0] == "get" && a[5] == "origin,"+KeptMarkProp:
		w.ran = append(w.ran, key)
		r := lookReply(a[6], get(a[6]))
		res := &execx.Result{Argv: argv, Exit: r.exit, Stdout: []byte(r.out), Stderr: []byte(r.stderr)}
		if r.exit != 0 {
			return res, &execx.Error{R: res}
		}
		return res, nil
	case a[0] == "rename":
		w.ds[a[2]] = get(a[1])
		delete(w.ds, a[1])
		for n, d := range w.ds {
			if strings.HasPrefix(d.origin, a[1]+"@") {
				d.origin = a[2] + strings.TrimPrefix(d.origin, a[1])
				w.ds[n] = d
			}
		}
		return ok()
	case a[0] == "clone":
		w.ds[a[len(a)-1]] = ds{origin: a[len(a)-2]}
		return ok()
	case a[0] == "destroy":
		delete(w.ds, a[len(a)-1])
		return ok()
	case a[0] == "promote":
		v := get(a[1])
		origin, _, _ := strings.Cut(v.origin, "@")
		o := get(origin)
		o.origin, v.origin = a[1]+"@s1", o.origin
		w.ds[origin], w.ds[a[1]] = o, v
		return ok()
	case a[0] == "set" && strings.HasPrefix(a[1], KeptMarkProp+"="):
		d := get(a[2])
		d.mark = strings.TrimPrefix(a[1], KeptMarkProp+"=")
		w.ds[a[2]] = d
		return ok()
	case a[0] == "inherit" && a[1] == KeptMarkProp:
		d := get(a[2])
		d.mark = ""
		w.ds[a[2]] = d
		return ok()
	}
	return w.host.run(ctx, argv)
}

func (w *zworld) zfs(noListP bool) zfs.Cmd { return zfs.Cmd{Path: "zfs", Run: w.run, NoListP: noListP} }

// world is a zworld with vol, kept and restore in the given states (gone:
// not there).
func world(t *testing.T, v, k, r ds) *zworld {
	w := &zworld{host: newHost(t, map[string]reply{}), ds: map[string]ds{}}
	for n, d := range map[string]ds{vol: v, kept: k, restore: r} {
		if !d.absent {
			w.ds[n] = d
		}
	}
	return w
}

// changes are the commands a case ran that are not reads.
func changes(ran []string) []string {
	var out []string
	for _, r := range ran {
		if !strings.HasPrefix(r, "zfs get ") {
			out = append(out, r)
		}
	}
	return out
}

const (
	renameAside = "zfs rename " + vol + " " + kept
	renameBack  = "zfs rename " + kept + " " + vol
	cloneCmd    = "zfs clone -o com.example:x=a b -o compression=on " + kept + "@s1 " + vol
	destroyV    = "zfs destroy " + vol
	bringBack   = "zfs rename " + restore + " " + vol
	unbring     = "zfs rename " + vol + " " + restore
	promote     = "zfs promote " + vol
)

func TestKeepStepsConverge(t *testing.T) {
	clone := ds{origin: kept + "@s1"}
	keptOfV := ds{origin: vol + "@s1"}
	restoreOfV := ds{origin: vol + "@s1", mark: KeptMark(7, vol, vol+"@s1")}
	restoreOfKept := ds{origin: kept + "@s1", mark: KeptMark(7, vol, vol+"@s1")}
	type fn func(context.Context, zfs.Cmd, store.Identity) error
	for _, tc := range []struct {
		name    string
		fn      fn
		undo    bool // an undo's identity (RESTORE)
		v, k, r ds
		ran     string // the change it makes, "" none
		bad     bool   // refused, permanently, changing nothing
	}{
		{name: "set-aside renames", fn: SetAside, v: plain, k: gone, ran: renameAside},
		{name: "set-aside run again: done", fn: SetAside, v: gone, k: plain},
		{name: "set-aside after clone: done", fn: SetAside, v: clone, k: plain},
		{name: "set-aside after promote: done", fn: SetAside, v: plain, k: keptOfV},
		{name: "set-aside with an unknown KEPT refuses", fn: SetAside, v: plain, k: plain, bad: true},
		{name: "set-aside with nothing refuses", fn: SetAside, v: gone, k: gone, bad: true},
		{name: "undo set-aside renames back", fn: UndoSetAside, v: gone, k: plain, ran: renameBack},
		{name: "undo set-aside run again: done", fn: UndoSetAside, v: plain, k: gone},
		{name: "undo set-aside with a clone left refuses", fn: UndoSetAside, v: clone, k: plain, bad: true},
		{name: "clone clones", fn: Clone, v: gone, k: plain, ran: cloneCmd},
		{name: "clone run again: done", fn: Clone, v: clone, k: plain},
		{name: "clone after promote: done", fn: Clone, v: plain, k: keptOfV},
		{name: "clone with V unrelated refuses", fn: Clone, v: plain, k: plain, bad: true},
		{name: "clone without KEPT refuses", fn: Clone, v: gone, k: gone, bad: true},
		{name: "undo clone destroys the clone", fn: UndoClone, v: clone, k: plain, ran: destroyV},
		{name: "undo clone run again: done", fn: UndoClone, v: gone, k: plain},
		{name: "undo clone, no set-aside either: done", fn: UndoClone, v: plain, k: gone},
		{name: "undo clone never destroys a volume that is not its clone", fn: UndoClone, v: plain, k: plain, bad: true},
		{name: "undo clone never destroys a promoted volume", fn: UndoClone, v: plain, k: keptOfV, bad: true},
		{name: "undo clone never destroys a kept dataset brought back", fn: UndoClone, v: restoreOfKept, k: plain, bad: true},
		{name: "bring-back renames", fn: BringBack, undo: true, v: gone, k: plain, r: restoreOfKept, ran: bringBack},
		{name: "bring-back run again: done", fn: BringBack, undo: true, v: restoreOfKept, k: plain, r: gone},
		{name: "bring-back after promote: done", fn: BringBack, undo: true, v: plain, k: keptOfV, r: gone},
		{name: "bring-back before set-aside refuses", fn: BringBack, undo: true, v: plain, k: gone, r: restoreOfV, bad: true},
		{name: "undo bring-back renames back", fn: UndoBringBack, undo: true, v: restoreOfKept, k: plain, r: gone, ran: unbring},
		{name: "undo bring-back run again: done", fn: UndoBringBack, undo: true, v: gone, k: plain, r: restoreOfKept},
		{name: "undo bring-back, no set-aside either: done", fn: UndoBringBack, undo: true, v: plain, k: gone, r: restoreOfV},
		{name: "undo bring-back after promote refuses", fn: UndoBringBack, undo: true, v: plain, k: keptOfV, r: gone, bad: true},
		{name: "promote promotes", fn: Promote, v: clone, k: plain, ran: promote},
		{name: "promote run again: done", fn: Promote, v: plain, k: keptOfV},
		{name: "promote of a volume not cloned refuses", fn: Promote, v: plain, k: gone, bad: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.r
			if !tc.undo {
				r = gone
			}
			h := world(t, tc.v, tc.k, r)
			id := keepID()
			if tc.undo {
				id = undoID()
			}
			err := tc.fn(context.Background(), h.zfs(false), id)
			if (err != nil) != tc.bad || (err != nil && !engine.IsPermanent(err)) {
				t.Errorf("err = %v (permanent %v), want refused %v", err, engine.IsPermanent(err), tc.bad)
			}
			want := []string(nil)
			if tc.ran != "" {
				want = []string{tc.ran}
			}
			if got := changes(h.ran); !slices.Equal(got, want) {
				t.Errorf("changed %q, want %q", got, want)
			}
		})
	}
}

// A read that fails for another reason than "does not exist", or that does
// not print both rows, stops the step before it changes anything, and is
// worth a retry.
func TestKeepLookFailsClosed(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    reply
	}{
		{name: "unknown failure", r: reply{stderr: "internal error: out of memory\n", exit: 1}},
		{name: "one row", r: reply{out: vol + "\torigin\t-\t-\n"}},
		{name: "another dataset's row", r: reply{out: "pool/x\torigin\t-\t-\npool/x\t" + KeptMarkProp + "\t-\t-\n"}},
		{name: "garbage", r: reply{out: "what\n"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHost(t, map[string]reply{lookKey(vol): tc.r, lookKey(kept): lookReply(kept, gone)})
			err := SetAside(context.Background(), h.zfs(false), keepID())
			if err == nil || engine.IsPermanent(err) {
				t.Errorf("err = %v, want a retryable error", err)
			}
			if got := changes(h.ran); len(got) != 0 {
				t.Errorf("changed %q", got)
			}
		})
	}
}

func TestPromoted(t *testing.T) {
	for _, tc := range []struct {
		name string
		k    ds
		want bool
		err  bool
	}{
		{name: "promoted", k: ds{origin: vol + "@s1"}, want: true},
		{name: "not yet", k: plain},
		{name: "kept gone: cannot tell", k: gone, err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := world(t, plain, tc.k, gone)
			got, err := Promoted(context.Background(), h.zfs(false), keepID())
			if got != tc.want || (err != nil) != tc.err {
				t.Errorf("Promoted = %v, %v; want %v, error %v", got, err, tc.want, tc.err)
			}
		})
	}
}

func TestDestroyKept(t *testing.T) {
	mine := KeptMark(9, vol, vol+"@s1")
	for _, tc := range []struct {
		name    string
		k       ds
		destroy bool
		bad     bool
	}{
		{name: "marked by the operation", k: ds{origin: vol + "@s1", mark: mine}, destroy: true},
		{name: "gone already: done", k: gone},
		{name: "no mark: refused", k: ds{origin: vol + "@s1"}, bad: true},
		{name: "another operation's mark: refused", k: ds{mark: KeptMark(19, vol, vol+"@s1")}, bad: true},
		{name: "the operation's mark for another snapshot: refused", k: ds{mark: KeptMark(9, vol, vol+"@s0")}, bad: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var more []string
			if tc.destroy {
				more = []string{"zfs destroy -r " + kept}
			}
			h := world(t, plain, tc.k, gone)
			err := DestroyKept(context.Background(), h.zfs(false), kept, mine)
			if (err != nil) != tc.bad || (err != nil && !engine.IsPermanent(err)) {
				t.Errorf("err = %v, want refused %v", err, tc.bad)
			}
			if got := changes(h.ran); !slices.Equal(got, more) {
				t.Errorf("changed %q, want %q", got, more)
			}
			h = world(t, plain, tc.k, gone)
			cerr := CheckKept(context.Background(), h.zfs(false), kept, mine)
			if (cerr == nil) != tc.destroy {
				t.Errorf("CheckKept = %v, want ok %v", cerr, tc.destroy)
			}
		})
	}
}

// cmdFor is the plan's zfs command.
func cmdFor(execx.RunFunc) zfs.Cmd { return zfs.Cmd{Path: "zfs"} }

// The plan shows every command each step runs, in order, for every volume
// of a group.
func TestKeepStepsPlanned(t *testing.T) {
	a := keepID()
	b := store.Identity{Volume: "pool/b", Snapshot: "pool/b@s1", Kept: "pool/b.kept-9-20261207T152435Z"}
	op := &store.Operation{ID: 9, Kind: store.KindRollback, Identity: a, Members: []store.Identity{b}}
	look := func(d string) string { return lookKey(d) }
	for _, tc := range []struct {
		step engine.Step
		want []string
	}{
		{SetAsideStep(cmdFor, op, true), []string{look(vol), look(kept), renameAside, look("pool/b"), look(b.Kept), "zfs rename pool/b " + b.Kept}},
		{CloneStep(cmdFor, op, true), []string{look(vol), look(kept), cloneCmd, look("pool/b"), look(b.Kept), "zfs clone " + b.Kept + "@s1 pool/b"}},
		{PromoteStep(cmdFor, op, true), []string{look(vol), look(kept), promote, look("pool/b"), look(b.Kept), "zfs promote pool/b"}},
		{MarkKeptStep(cmdFor, op), []string{"zfs set " + KeptMarkProp + "=" + KeptMark(9, vol, vol+"@s1") + " " + kept,
			"zfs set " + KeptMarkProp + "=" + KeptMark(9, "pool/b", "pool/b@s1") + " " + b.Kept}},
	} {
		t.Run(tc.step.Name, func(t *testing.T) {
			var got []string
			for _, p := range tc.step.Planned {
				got = append(got, strings.Join(p, " "))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("planned\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if tc.step.Commit != (tc.step.Name == StepPromote) || tc.step.OutageWindow != (tc.step.Name != StepMarkKept) {
				t.Errorf("commit %v window %v", tc.step.Commit, tc.step.OutageWindow)
			}
			if (tc.step.Undo != nil) != (tc.step.Name == StepSetAside || tc.step.Name == StepClone) {
				t.Errorf("undo %v", tc.step.Undo != nil)
			}
		})
	}
	u := &store.Operation{ID: 11, Kind: store.KindUndo, Identity: undoID(), Options: store.Options{Undo: 7}}
	bb := BringBackStep(cmdFor, u, true)
	if got := strings.Join(bb.Planned[len(bb.Planned)-1], " "); got != bringBack || bb.Undo == nil {
		t.Errorf("bring-back plans %q", got)
	}
	mk := MarkKeptStep(cmdFor, u)
	if got := strings.Join(mk.Planned[1], " "); got != "zfs inherit "+KeptMarkProp+" "+vol {
		t.Errorf("an undo's mark-kept plans %q", got)
	}
	f := &store.Operation{ID: 12, Kind: store.KindForget, Options: store.Options{Forget: 9, ForgetDatasets: []string{kept}},
		Identity: store.Identity{Volume: vol, Snapshot: vol + "@s1", Kept: kept}}
	dks := DestroyKeptSteps(cmdFor, f)
	if dk := dks[0]; len(dks) != 1 || !dk.Commit || dk.Undo != nil || len(dk.Planned) != 2 || strings.Join(dk.Planned[1], " ") != "zfs destroy -r "+kept {
		t.Errorf("destroy-kept: %d steps, commit %v, planned %q", len(dks), dk.Commit, dk.Planned)
	}
	f.Options.ForgetDatasets = append(f.Options.ForgetDatasets, "pool/b.kept-9-20261207T152435Z")
	f.Members = []store.Identity{{Volume: "pool/b", Snapshot: "pool/b@s1", Kept: "pool/b.kept-9-20261207T152435Z"}}
	if dks = DestroyKeptSteps(cmdFor, f); len(dks) != 2 || dks[1].Name != StepFinishDestroyKept || dks[1].Commit || len(dks[0].Planned) != 4 {
		t.Errorf("a forget of two: %d steps", len(dks))
	}
}

func TestCloneProps(t *testing.T) {
	got, err := CloneProps(map[string]string{"volsize": "1073741824", "volblocksize": "8192", "compression": "lz4",
		"refreservation": "1100000000", KeptMarkProp: "operation 3: x", "volctl:other": "y", "com.example:note": "a b", "stmf_sbd_lu": "xx"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"compression": "lz4", "refreservation": "1100000000", "com.example:note": "a b"}
	if len(got) != len(want) {
		t.Errorf("clone props %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("clone props %v, want %v", got, want)
		}
	}
	if _, err := CloneProps(map[string]string{"encryption": "on", "compression": "on"}); !errors.Is(err, engine.ErrPrecondition) || !strings.Contains(err.Error(), "encryption=on") {
		t.Errorf("err = %v, want a refusal naming encryption", err)
	}
}

func TestCaptureChecks(t *testing.T) {
	ctx := context.Background()
	// RESTORE must be a clone of V@S: quoted when it is not.
	for _, tc := range []struct {
		name string
		r    ds
		ok   bool
	}{
		{name: "a clone of the snapshot", r: ds{origin: vol + "@s1"}, ok: true},
		{name: "gone", r: gone},
		{name: "a clone of another snapshot", r: ds{origin: vol + "@s0"}},
		{name: "not a clone", r: plain},
	} {
		t.Run("restore "+tc.name, func(t *testing.T) {
			h := world(t, plain, gone, tc.r)
			err := CheckRestore(ctx, h.zfs(false), undoID())
			if (err == nil) != tc.ok || (err != nil && (!errors.Is(err, engine.ErrPrecondition) || !strings.Contains(err.Error(), "printed"))) {
				t.Errorf("err = %v, want ok %v", err, tc.ok)
			}
		})
	}
	h := world(t, plain, plain, gone)
	if err := CheckKeptFree(ctx, h.zfs(false), kept); !errors.Is(err, engine.ErrPrecondition) {
		t.Errorf("a taken kept name: %v", err)
	}
	h = world(t, plain, gone, gone)
	if err := CheckKeptFree(ctx, h.zfs(false), kept); err != nil {
		t.Errorf("a free kept name: %v", err)
	}
}

// The compensation brings an LU back only onto the volume itself.
func TestSwappedBack(t *testing.T) {
	for _, tc := range []struct {
		name    string
		v, k, r ds
		undo    bool
		ok      bool
	}{
		{name: "set-aside undone", v: plain, k: gone, ok: true},
		{name: "still aside", v: gone, k: plain},
		{name: "the clone in place", v: ds{origin: kept + "@s1"}, k: plain},
		{name: "undo: all back", undo: true, v: plain, k: gone, r: ds{origin: vol + "@s1"}, ok: true},
		{name: "undo: RESTORE still the volume", undo: true, v: ds{origin: kept + "@s1"}, k: plain, r: gone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := keepID()
			if tc.undo {
				id = undoID()
			}
			h := world(t, tc.v, tc.k, tc.r)
			if err := SwappedBack(context.Background(), h.zfs(false), id); (err == nil) != tc.ok {
				t.Errorf("err = %v, want ok %v", err, tc.ok)
			}
		})
	}
}

func TestVerifyKept(t *testing.T) {
	snaps := func(name string, short ...string) reply {
		var b strings.Builder
		for i, s := range short {
			b.WriteString(snapRow(name+"@"+s, i, 0))
		}
		return reply{out: b.String()}
	}
	id := keepID()
	id.NewerSnapshots = []string{vol + "@s2"}
	for _, tc := range []struct {
		name       string
		k          ds
		own, other reply
		ok         bool
	}{
		{name: "promoted, newer kept", k: ds{origin: vol + "@s1"}, own: snaps(vol, "s0", "s1"), other: snaps(kept, "s2"), ok: true},
		{name: "not promoted", k: plain, own: snaps(vol), other: snaps(kept, "s0", "s1", "s2")},
		{name: "newer missing", k: ds{origin: vol + "@s1"}, own: snaps(vol, "s0", "s1"), other: snaps(kept)},
		{name: "snapshot missing", k: ds{origin: vol + "@s1"}, own: snaps(vol, "s0"), other: snaps(kept, "s2")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := world(t, plain, tc.k, gone)
			h.replies[listSnaps+vol] = tc.own
			h.replies[listSnaps+kept] = tc.other
			if err := VerifyKept(context.Background(), h.zfs(false), id); (err == nil) != tc.ok {
				t.Errorf("err = %v, want ok %v", err, tc.ok)
			}
		})
	}
}

// The clone gets no refreservation from -o (zfs refuses one above the
// snapshot's volsize); a volume that reserved its volsize has its clone
// reserve the clone's own, once the LU is back (mark-kept).
func TestCloneReserves(t *testing.T) {
	getRes := "zfs get -H -p -o name,property,value,source volsize,refreservation " + vol
	res := func(volsize, refres string) reply {
		return reply{out: vol + "\tvolsize\t" + volsize + "\tlocal\n" + vol + "\trefreservation\t" + refres + "\tlocal\n"}
	}
	cloneNoRes := "zfs clone -o compression=on " + kept + "@s1 " + vol
	refresRow := func(v string) reply { return reply{out: vol + "\trefreservation\t" + v + "\tlocal\n"} }
	for _, tc := range []struct {
		name   string
		refres string // V's local refreservation at capture, "" none
		v      ds
		now    reply // the clone's volsize and refreservation
		after  reply // its refreservation after the set
		ran    []string
		bad    bool
	}{
		{name: "sparse", v: gone, ran: []string{cloneNoRes}},
		{name: "thick: the clone's volsize", refres: "1073741824", v: gone, now: res("536870912", "none"),
			after: refresRow("536870912"), ran: []string{cloneNoRes, "zfs set refreservation=536870912 " + vol}},
		{name: "custom: as it was", refres: "4096", v: gone, now: res("536870912", "none"),
			after: refresRow("4096"), ran: []string{cloneNoRes, "zfs set refreservation=4096 " + vol}},
		{name: "run again: done", refres: "1073741824", v: ds{origin: kept + "@s1"}, now: res("536870912", "536870912")},
		{name: "a set that did nothing is an error", refres: "1073741824", v: gone, now: res("536870912", "none"),
			after: refresRow("none"), ran: []string{cloneNoRes, "zfs set refreservation=536870912 " + vol}, bad: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := keepID()
			id.Volsize = 1073741824
			id.LocalProps = map[string]string{"compression": "on"}
			if tc.refres != "" {
				id.LocalProps["refreservation"] = tc.refres
			}
			h := world(t, tc.v, plain, gone)
			h.replies[getRes] = tc.now
			h.replies["zfs get -H -p -o name,property,value,source refreservation "+vol] = tc.after
			for _, r := range tc.ran {
				h.replies[r] = reply{}
			}
			if tc.v.absent {
				if err := Clone(context.Background(), h.zfs(false), id); err != nil {
					t.Fatal(err)
				}
			}
			op := &store.Operation{ID: 9, Identity: id}
			if err := MarkKept(context.Background(), h.zfs(false), op, id); (err != nil) != tc.bad {
				t.Fatalf("err = %v, want error %v", err, tc.bad)
			}
			want := slices.Clone(tc.ran)
			if !tc.bad {
				want = append(want, "zfs set "+KeptMarkProp+"="+Mark(op, id)+" "+kept)
			}
			if got := changes(h.ran); !slices.Equal(got, want) {
				t.Errorf("changed %q, want %q", got, want)
			}
		})
	}
}

// set-aside renames only once the backend's guard passes.
func TestSetAsideGuard(t *testing.T) {
	h := world(t, plain, gone, gone)
	err := setAside(context.Background(), h.zfs(false), keepID(), func(store.Identity) error { return engine.Permanent(errors.New("LU still there")) })
	if err == nil || len(changes(h.ran)) != 0 {
		t.Errorf("err = %v, changed %q", err, changes(h.ran))
	}
	h = world(t, gone, plain, gone) // renamed already: the guard is not asked
	if err := setAside(context.Background(), h.zfs(false), keepID(), func(store.Identity) error { return errors.New("asked") }); err != nil {
		t.Error(err)
	}
}

// A command that exits 0 and does nothing is never taken for done: the
// read-back after it fails, worth a retry.
func TestKeepLyingCommand(t *testing.T) {
	clone := ds{origin: kept + "@s1"}
	for _, tc := range []struct {
		name    string
		fn      func(context.Context, zfs.Cmd, store.Identity) error
		v, k, r ds
		noop    string
		undo    bool
	}{
		{name: "rename back", fn: UndoSetAside, v: gone, k: plain, noop: renameBack},
		{name: "destroy the clone", fn: UndoClone, v: clone, k: plain, noop: destroyV},
		{name: "rename back from bring-back", fn: UndoBringBack, undo: true, v: ds{origin: kept + "@s1"}, k: plain, r: gone, noop: unbring},
		{name: "promote", fn: Promote, v: clone, k: plain, noop: promote},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := world(t, tc.v, tc.k, tc.r)
			h.noop = tc.noop
			id := keepID()
			if tc.undo {
				id = undoID()
			}
			if err := tc.fn(context.Background(), h.zfs(false), id); err == nil || engine.IsPermanent(err) {
				t.Errorf("err = %v, want a retryable error", err)
			}
		})
	}
	h := world(t, plain, ds{origin: vol + "@s1", mark: KeptMark(9, vol, vol+"@s1")}, gone)
	h.noop = "zfs destroy -r " + kept
	if err := DestroyKept(context.Background(), h.zfs(false), kept, KeptMark(9, vol, vol+"@s1")); err == nil {
		t.Error("a destroy -r that did nothing is done")
	}
	op := &store.Operation{ID: 9, Identity: keepID()}
	h = world(t, plain, ds{origin: vol + "@s1"}, gone)
	h.noop = "zfs set " + KeptMarkProp + "=" + Mark(op, op.Identity) + " " + kept
	if err := MarkKept(context.Background(), h.zfs(false), op, op.Identity); err == nil {
		t.Error("a mark that was not set is done")
	}
}
