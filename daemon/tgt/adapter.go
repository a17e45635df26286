package tgt

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/volctl/volctl/daemon/execx"
)

// Cmd runs tgtadm. Path is absolute (from the daemon's configuration);
// Control, when set, is tgtd's management port (tgtd -C N, tgtadm
// --control-port N), so that volctld can talk to a tgtd other than the
// default one; Run records what ran.
type Cmd struct {
	Path    string
	Control string
	Run     execx.RunFunc
}

// argv is the common prefix: tgtadm [--control-port N] --lld iscsi --op OP --mode MODE.
func (c Cmd) argv(op, mode string, rest ...string) []string {
	a := []string{c.Path}
	if c.Control != "" {
		a = append(a, "--control-port", c.Control)
	}
	a = append(a, "--lld", "iscsi", "--op", op, "--mode", mode)
	return append(a, rest...)
}

func itoa(n int) string { return strconv.Itoa(n) }

// ShowArgv is the full target listing (docs/platform/linux-tgt.md §3.2).
// `--tid N` is not used: with it tgtadm prints iSCSI parameters, not the
// target (linux-tgt.md §3.3).
func (c Cmd) ShowArgv() []string { return c.argv("show", "target") }

// Show lists every target with its sessions, LUNs, accounts and ACL.
func (c Cmd) Show(ctx context.Context) ([]Target, error) {
	res, err := c.Run(ctx, c.ShowArgv())
	if err != nil {
		return nil, err
	}
	return ParseTargets(res.Stdout)
}

// Target returns the target with tid from a full show, ok=false when tgtd
// does not have it.
func (c Cmd) Target(ctx context.Context, tid int) (Target, bool, error) {
	ts, err := c.Show(ctx)
	if err != nil {
		return Target{}, false, err
	}
	t, ok := Find(ts, tid)
	return t, ok, nil
}

// LUSpec is what `--op new --mode logicalunit` takes. Only the backing store
// is required; the rest is passed when it differs from tgtd's default, so
// the argv stays the plain one in the common case.
type LUSpec struct {
	Path      string
	BSType    string // "" or "rdwr": default
	BSOFlags  string // "" : none
	BlockSize uint32 // 0 or 512: default
}

// NewLUArgv creates LUN lun on tid backed by spec.Path. There is no way to
// pass scsi_id/scsi_sn here (docs/platform/linux-tgt.md §4.1): follow with
// UpdateLU.
func (c Cmd) NewLUArgv(tid, lun int, spec LUSpec) []string {
	a := c.argv("new", "logicalunit", "--tid", itoa(tid), "--lun", itoa(lun), "--backing-store", spec.Path)
	if spec.BSType != "" && spec.BSType != "rdwr" {
		a = append(a, "--bstype", spec.BSType)
	}
	if spec.BSOFlags != "" {
		a = append(a, "--bsoflags", spec.BSOFlags)
	}
	if spec.BlockSize != 0 && spec.BlockSize != 512 {
		a = append(a, "--blocksize", strconv.FormatUint(uint64(spec.BlockSize), 10))
	}
	return a
}

// NewLU creates an LU.
func (c Cmd) NewLU(ctx context.Context, tid, lun int, spec LUSpec) error {
	_, err := c.Run(ctx, c.NewLUArgv(tid, lun, spec))
	return err
}

// Param is one key=value of --params.
type Param struct{ Key, Value string }

// UpdateLUArgv sets params on an LU with one `--op update --params k=v,...`.
// The values must have passed ValidateParam: a ',' would split them.
func (c Cmd) UpdateLUArgv(tid, lun int, params []Param) []string {
	kv := make([]string, 0, len(params))
	for _, p := range params {
		kv = append(kv, p.Key+"="+p.Value)
	}
	return c.argv("update", "logicalunit", "--tid", itoa(tid), "--lun", itoa(lun), "--params", strings.Join(kv, ","))
}

// knownParams are the keys tgtd's lu_config recognises
// (docs/platform/linux-tgt.md §4.2). An unknown key fails the command after
// the others were applied, so volctl never sends one.
var knownParams = map[string]bool{
	"scsi_id": true, "scsi_sn": true, "vendor_id": true, "product_id": true, "product_rev": true,
	"sense_format": true, "lbppbe": true, "la_lba": true, "optimal_xfer_gran": true, "optimal_xfer_len": true,
	"removable": true, "readonly": true, "online": true, "mode_page": true, "path": true,
	"thin_provisioning": true, "rotation_rate": true,
}

// UpdateLU sets params on an LU. It refuses unknown keys and values that
// cannot be passed, before running anything.
func (c Cmd) UpdateLU(ctx context.Context, tid, lun int, params []Param) error {
	if len(params) == 0 {
		return nil
	}
	for _, p := range params {
		if !knownParams[p.Key] {
			return fmt.Errorf("%w --params key %q: tgtd does not know it", ErrInvalid, p.Key)
		}
		if err := ValidateParam(p.Key, p.Value, 0); err != nil {
			return err
		}
	}
	_, err := c.Run(ctx, c.UpdateLUArgv(tid, lun, params))
	return err
}

// DeleteLUArgv deletes LUN lun of tid.
func (c Cmd) DeleteLUArgv(tid, lun int) []string {
	return c.argv("delete", "logicalunit", "--tid", itoa(tid), "--lun", itoa(lun))
}

// DeleteLU deletes an LU.
func (c Cmd) DeleteLU(ctx context.Context, tid, lun int) error {
	_, err := c.Run(ctx, c.DeleteLUArgv(tid, lun))
	return err
}

// ruleArgs is -I ADDR for address rules, --initiator-name NAME for names.
func ruleArgs(r ACLRule) []string {
	if r.Kind == ACLName {
		return []string{"--initiator-name", r.Rule}
	}
	return []string{"--initiator-address", r.Rule}
}

// BindArgv adds an ACL rule to tid.
func (c Cmd) BindArgv(tid int, r ACLRule) []string {
	return c.argv("bind", "target", append([]string{"--tid", itoa(tid)}, ruleArgs(r)...)...)
}

// Bind adds an ACL rule.
func (c Cmd) Bind(ctx context.Context, tid int, r ACLRule) error {
	_, err := c.Run(ctx, c.BindArgv(tid, r))
	return err
}

// UnbindArgv removes an ACL rule from tid.
func (c Cmd) UnbindArgv(tid int, r ACLRule) []string {
	return c.argv("unbind", "target", append([]string{"--tid", itoa(tid)}, ruleArgs(r)...)...)
}

// Unbind removes an ACL rule.
func (c Cmd) Unbind(ctx context.Context, tid int, r ACLRule) error {
	_, err := c.Run(ctx, c.UnbindArgv(tid, r))
	return err
}

// ShowConnsArgv lists the connections of tid (docs/platform/linux-tgt.md
// §3.4).
func (c Cmd) ShowConnsArgv(tid int) []string { return c.argv("show", "conn", "--tid", itoa(tid)) }

// ShowConns lists the connections of tid.
func (c Cmd) ShowConns(ctx context.Context, tid int) ([]Session, error) {
	res, err := c.Run(ctx, c.ShowConnsArgv(tid))
	if err != nil {
		return nil, err
	}
	return ParseConns(res.Stdout)
}

// DeleteConnArgv drops one connection (docs/platform/linux-tgt.md §7.3). The
// initiator keeps retrying its login: this does not fence it.
func (c Cmd) DeleteConnArgv(tid int, sid uint64, cid int) []string {
	return c.argv("delete", "conn", "--tid", itoa(tid), "--sid", strconv.FormatUint(sid, 10), "--cid", itoa(cid))
}

// DeleteConn drops one connection.
func (c Cmd) DeleteConn(ctx context.Context, tid int, sid uint64, cid int) error {
	_, err := c.Run(ctx, c.DeleteConnArgv(tid, sid, cid))
	return err
}

// NewTargetArgv creates target tid named iqn (docs/platform/linux-tgt.md
// §3.1).
func (c Cmd) NewTargetArgv(tid int, iqn string) []string {
	return c.argv("new", "target", "--tid", itoa(tid), "--targetname", iqn)
}

// NewTarget creates a target.
func (c Cmd) NewTarget(ctx context.Context, tid int, iqn string) error {
	if err := ValidateIQN(iqn); err != nil {
		return err
	}
	_, err := c.Run(ctx, c.NewTargetArgv(tid, iqn))
	return err
}

// DeleteTargetArgv deletes target tid; force also drops its sessions.
func (c Cmd) DeleteTargetArgv(tid int, force bool) []string {
	if force {
		return c.argv("delete", "target", "--force", "--tid", itoa(tid))
	}
	return c.argv("delete", "target", "--tid", itoa(tid))
}

// DeleteTarget deletes a target with its LUNs (docs/platform/linux-tgt.md
// §3.6).
func (c Cmd) DeleteTarget(ctx context.Context, tid int, force bool) error {
	_, err := c.Run(ctx, c.DeleteTargetArgv(tid, force))
	return err
}
