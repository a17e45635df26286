package comstar

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/volctl/volctl/daemon/execx"
)

// Cmd runs stmfadm. Path is absolute (from the daemon's configuration); Run
// records what ran.
type Cmd struct {
	Path string
	Run  execx.RunFunc
}

// ZvolPath is the data file COMSTAR uses for a zvol: the raw device, which is
// what an LU created for a zvol names and what import-lu is given.
func ZvolPath(vol string) string { return "/dev/zvol/rdsk/" + vol }

// IsZvolPath reports whether path is one of the two device paths of vol.
func IsZvolPath(path, vol string) bool {
	return path == "/dev/zvol/rdsk/"+vol || path == "/dev/zvol/dsk/"+vol
}

// stderrFailed catches the commands that print an error and still exit 0
// (docs/platform/comstar.md §1.2): any stderr from stmfadm is a failure.
func stderrFailed(res *execx.Result, err error) error {
	if err != nil {
		return err
	}
	if s := strings.TrimSpace(string(res.Stderr)); s != "" {
		return fmt.Errorf("%s: exit status 0 but: %s", strings.Join(res.Argv, " "), s)
	}
	return nil
}

// ProbeDeleteKeep asks stmfadm whether delete-lu takes -k (keep the views):
// it is in the Solaris 11.4 man page but not in those of 11.2 and 11.3
// (docs/platform/comstar.md §3.5). With no operand, cmdparse parses the options
// first: a known -k leads to "delete-lu requires an operand", an unknown
// one to "invalid option" / "illegal option". Nothing is deleted either way.
func (c Cmd) ProbeDeleteKeep(ctx context.Context) (bool, string, error) {
	res, err := c.Run(ctx, []string{c.Path, "delete-lu", "-k"})
	if res == nil || res.Err != nil {
		return false, "", fmt.Errorf("probe stmfadm delete-lu -k: %w", err)
	}
	out := string(res.Stdout) + string(res.Stderr)
	first := strings.TrimSpace(strings.SplitN(strings.TrimSpace(out), "\n", 2)[0])
	switch {
	case strings.Contains(out, "invalid option") || strings.Contains(out, "illegal option"):
		return false, "stmfadm delete-lu -k: " + first, nil
	case strings.Contains(out, "requires an operand"):
		return true, "stmfadm delete-lu -k: option accepted (" + first + ")", nil
	}
	return false, fmt.Sprintf("stmfadm delete-lu -k: exit %d, an answer volctl does not know: %q", res.Exit, first), nil
}

// ListLUArgv is `stmfadm list-lu -v [GUID...]`: several operands are
// listed in turn (docs/platform/comstar-lu.md §1).
func (c Cmd) ListLUArgv(guids ...string) []string {
	return append([]string{c.Path, "list-lu", "-v"}, guids...)
}

// ListLU lists LUs (all when no GUID is given) verbosely.
func (c Cmd) ListLU(ctx context.Context, guids ...string) ([]LU, error) {
	res, err := c.Run(ctx, c.ListLUArgv(guids...))
	return listLUResult(res, err)
}

// listLUResult reads list-lu -v's answer. Its exit status is the number of
// properties of the last LU listed that printed "<error retrieving
// property>" (listLuFunc; docs/platform/comstar-lu.md §1): an exit status
// that is exactly that, with nothing on stderr, is an answer whose LUs the
// reading rules (readable.go) then refuse by name; any other failure is an
// error.
func listLUResult(res *execx.Result, err error) ([]LU, error) {
	ferr := stderrFailed(res, err)
	if ferr == nil {
		return ParseListLU(res.Stdout)
	}
	if res == nil || res.Err != nil || res.Exit <= 0 || len(bytes.TrimSpace(res.Stderr)) > 0 {
		return nil, ferr
	}
	lus, perr := ParseListLU(res.Stdout)
	if perr != nil || len(lus) == 0 {
		return nil, ferr
	}
	failed := 0
	for _, v := range lus[len(lus)-1].Printed {
		if v == PrintedError {
			failed++
		}
	}
	if failed != res.Exit {
		return nil, ferr
	}
	return lus, nil
}

// LookupLUArgv is `stmfadm list-lu -v GUID`.
func (c Cmd) LookupLUArgv(guid string) []string { return []string{c.Path, "list-lu", "-v", guid} }

// ListViewArgv is `stmfadm list-view -l GUID`.
func (c Cmd) ListViewArgv(guid string) []string { return []string{c.Path, "list-view", "-l", guid} }

// LookupLU returns the LU with guid, or ok=false when STMF does not know the
// GUID at all.
func (c Cmd) LookupLU(ctx context.Context, guid string) (LU, bool, error) {
	res, err := c.Run(ctx, c.LookupLUArgv(guid))
	if err != nil && res != nil && strings.Contains(string(res.Stderr), "not found") {
		return LU{}, false, nil
	}
	lus, err := listLUResult(res, err)
	if err != nil {
		return LU{}, false, err
	}
	for _, lu := range lus {
		if strings.EqualFold(lu.GUID, guid) {
			return lu, true, nil
		}
	}
	return LU{}, false, nil
}

// ListView lists the view entries of guid; none is an empty list, not an
// error (stmfadm says "no views found" and exits 1).
func (c Cmd) ListView(ctx context.Context, guid string) ([]View, error) {
	res, err := c.Run(ctx, c.ListViewArgv(guid))
	if err != nil {
		if res != nil && IsNoViews(res.Stderr) {
			return nil, nil
		}
		return nil, err
	}
	return ParseListView(res.Stdout)
}

// DeleteLUArgv deletes the LUs and keeps their views (-k): without -k
// stmfadm drops every view even when the delete fails. Several GUIDs are
// one command that deletes them in turn, going on after a failure
// (docs/platform/comstar-delete-lu.md).
func (c Cmd) DeleteLUArgv(guids ...string) []string {
	return append([]string{c.Path, "delete-lu", "-k"}, guids...)
}

// DeleteLU deletes the LUs, keeping their views.
func (c Cmd) DeleteLU(ctx context.Context, guids ...string) error {
	return stderrFailed(c.Run(ctx, c.DeleteLUArgv(guids...)))
}

// ImportLUArgv re-registers the LU from the metadata in the zvol.
func (c Cmd) ImportLUArgv(dataFile string) []string {
	return []string{c.Path, "import-lu", dataFile}
}

// ImportLU imports the LU whose metadata is in dataFile and returns the GUID
// it came back with.
func (c Cmd) ImportLU(ctx context.Context, dataFile string) (string, *execx.Result, error) {
	res, err := c.Run(ctx, c.ImportLUArgv(dataFile))
	if err := stderrFailed(res, err); err != nil {
		return "", res, err
	}
	guid, err := ParseImportLU(res.Stdout)
	return guid, res, err
}

// CreateLUArgv re-creates an LU with a captured identity: used when the
// metadata is gone ("meta file error"). blk is left out when 0. It never
// drops or alters a value: one that create-lu cannot be given exactly is
// an error naming the property and the value (CreateLUValue).
func (c Cmd) CreateLUArgv(lu LU) ([]string, error) {
	argv := []string{c.Path, "create-lu", "-p", "guid=" + lu.GUID}
	var errs []error
	add := func(k, v string) {
		if v == "" {
			return // not set: create-lu leaves it unset too
		}
		if err := CreateLUValue(k, v); err != nil {
			errs = append(errs, err)
			return
		}
		argv = append(argv, "-p", k+"="+v)
	}
	if lu.Alias == "" {
		// sbd names an LU without an alias after its data file
		// (docs/platform/comstar-lu.md §3): "no alias" cannot be created.
		errs = append(errs, fmt.Errorf("alias: the LU has none, and create-lu would name it after its data file"))
	}
	add("alias", lu.Alias)
	// sbd pads the ids with spaces to 8 and 16 bytes: without the padding
	// create-lu writes the same bytes.
	add("vid", strings.TrimRight(lu.VendorID, " "))
	add("pid", strings.TrimRight(lu.ProductID, " "))
	add("serial", lu.SerialNum)
	add("mgmt-url", lu.MgmtURL)
	if lu.BlockSize != 0 {
		add("blk", strconv.FormatUint(uint64(lu.BlockSize), 10))
	}
	add("wp", strconv.FormatBool(lu.WriteProtect))
	add("wcd", strconv.FormatBool(lu.WritebackCacheDisabled))
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("create-lu cannot re-create LU %s exactly: %w", lu.GUID, err)
	}
	return append(argv, lu.DataFile), nil
}

// maxOptArg is cmdparse's MAXOPTARGLEN: a longer option argument is
// "option too long" (docs/platform/comstar-lu.md §3).
const maxOptArg = 256

// CreateLUValue says why `create-lu -p name=value` cannot carry value
// exactly, or nil: stmfadm splits the argument with strtok_r(.., "="), so
// the value ends at its first '=' (leading ones are skipped), and cmdparse
// refuses an argument longer than 256 bytes.
func CreateLUValue(name, value string) error {
	switch {
	case strings.Contains(value, "="):
		return fmt.Errorf("%s %q contains '=', where stmfadm create-lu -p cuts the value", name, value)
	case len(name)+1+len(value) > maxOptArg:
		return fmt.Errorf("%s %q: \"%s=...\" is %d bytes, more than stmfadm's %d for an option argument", name, value, name, len(name)+1+len(value), maxOptArg)
	}
	return nil
}

// CreateLU creates the LU and returns its GUID.
func (c Cmd) CreateLU(ctx context.Context, lu LU) (string, error) {
	argv, err := c.CreateLUArgv(lu)
	if err != nil {
		return "", err
	}
	res, err := c.Run(ctx, argv)
	if err := stderrFailed(res, err); err != nil {
		return "", err
	}
	return ParseCreateLU(res.Stdout)
}

// AddViewArgv adds exactly the captured view: host group, target group and
// LUN. "All" is expressed by leaving the option out; the LUN is always given
// so that STMF never picks one.
func (c Cmd) AddViewArgv(guid string, v View) []string {
	argv := []string{c.Path, "add-view"}
	if v.HostGroup != "" && v.HostGroup != "All" {
		argv = append(argv, "-h", v.HostGroup)
	}
	if v.TargetGroup != "" && v.TargetGroup != "All" {
		argv = append(argv, "-t", v.TargetGroup)
	}
	return append(argv, "-n", strconv.Itoa(v.LUN), guid)
}

// AddView adds one view.
func (c Cmd) AddView(ctx context.Context, guid string, v View) error {
	return stderrFailed(c.Run(ctx, c.AddViewArgv(guid, v)))
}

// ResizeLUArgv sets an LU's size (modify-lu -s, in bytes).
func (c Cmd) ResizeLUArgv(guid string, size uint64) []string {
	return []string{c.Path, "modify-lu", "-s", strconv.FormatUint(size, 10), guid}
}

// ResizeLU sets an LU's size.
func (c Cmd) ResizeLU(ctx context.Context, guid string, size uint64) error {
	return stderrFailed(c.Run(ctx, c.ResizeLUArgv(guid, size)))
}

// ErrNotRegistered: STMF knows the GUID only through its views.
var ErrNotRegistered = errors.New("logical unit is not registered")

// ListTargets is `stmfadm list-target -v`: every target with the
// initiators logged in to it (docs/platform/comstar.md §7.1).
func (c Cmd) ListTargets(ctx context.Context) ([]Target, error) {
	res, err := c.Run(ctx, []string{c.Path, "list-target", "-v"})
	if err := stderrFailed(res, err); err != nil {
		return nil, err
	}
	return ParseListTarget(res.Stdout)
}

// HostGroups is `stmfadm list-hg -v`: group name -> members.
func (c Cmd) HostGroups(ctx context.Context) (map[string][]string, error) {
	res, err := c.Run(ctx, []string{c.Path, "list-hg", "-v"})
	if err := stderrFailed(res, err); err != nil {
		return nil, err
	}
	return ParseListHG(res.Stdout)
}

// TargetGroups is `stmfadm list-tg -v`: group name -> member targets.
func (c Cmd) TargetGroups(ctx context.Context) (map[string][]string, error) {
	res, err := c.Run(ctx, []string{c.Path, "list-tg", "-v"})
	if err := stderrFailed(res, err); err != nil {
		return nil, err
	}
	return ParseListHG(res.Stdout)
}

// ZvolOfPath is the volume an LU's data file names (/dev/zvol/rdsk/POOL/VOL
// or /dev/zvol/dsk/POOL/VOL), or "" for any other file.
func ZvolOfPath(path string) string {
	for _, p := range []string{"/dev/zvol/rdsk/", "/dev/zvol/dsk/"} {
		if v, ok := strings.CutPrefix(path, p); ok && v != "" {
			return v
		}
	}
	return ""
}
