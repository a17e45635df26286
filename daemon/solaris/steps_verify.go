package solaris

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/zvol"
	"github.com/volctl/volctl/store"
)

// The verify step: every LU's identity and views as captured, and the
// volume at its snapshot.

func (s *sagaSteps) verify() engine.Step {
	st := engine.Step{Name: "verify",
		Description: "LU online with the captured identity (size at most the volume's), views equal, no newer snapshot left"}
	if len(s.op.Members) > 0 {
		st.Description = "for every volume of the group: " + st.Description
	}
	z := s.zfs(nil)
	c := s.b.stmf(nil)
	for _, id := range s.op.Volumes() {
		if len(id.LUs) > 0 && id.SnapshotVolsize == 0 {
			st.Planned = append(st.Planned, z.GetArgv(id.Volume, "volsize"))
		}
		for _, lu := range id.LUs {
			st.Planned = append(st.Planned, c.LookupLUArgv(lu.GUID), c.ListViewArgv(lu.GUID))
		}
		st.Planned = append(st.Planned, zvol.VerifyPlanned(z, s.b.zpool(nil), id)...)
	}
	// The rollback's effect was decided when it ran (its exit status, or
	// its Check): nothing read here can be trusted for that, since the
	// views are live and initiators write. Only what no initiator changes
	// is checked: the LU's identity and views, and the snapshot list.
	st.Do = func(ctx context.Context, x *engine.Exec) error {
		for _, id := range s.op.Volumes() {
			if err := s.verifyVolume(ctx, x, id); err != nil {
				return err
			}
		}
		return nil
	}
	return st
}

func (s *sagaSteps) verifyVolume(ctx context.Context, x *engine.Exec, id store.Identity) error {
	var volsize uint64
	if len(id.LUs) > 0 {
		var err error
		if volsize, err = zvol.VolsizeAfter(ctx, s.zfs(x.Run), id); err != nil {
			return err
		}
	}
	for _, lu := range id.LUs {
		if err := s.verifyLU(ctx, x, afterRollback(volsize, lu)); err != nil {
			return err
		}
	}
	err := zvol.Verify(ctx, s.zfs(x.Run), s.b.zpool(x.Run), id, x.Note)
	if err != nil && len(s.op.Members) > 0 && errors.Is(err, engine.ErrNotCommitted) {
		// In a group the others are rolled back: never backward from
		// here, only forward or to the admin.
		return fmt.Errorf("%s: %v", id.Volume, strings.Replace(err.Error(), engine.ErrNotCommitted.Error(), "not at its snapshot", 1))
	}
	return err
}

// verifyLU reads the LU and its views back and compares them with the
// capture.
func (s *sagaSteps) verifyLU(ctx context.Context, x *engine.Exec, want store.LU) error {
	c := s.b.stmf(x.Run)
	got, ok, err := c.LookupLU(ctx, want.GUID)
	if err != nil {
		return fmt.Errorf("read back LU %s: %w", want.GUID, err)
	}
	if !ok || !got.Registered {
		return fmt.Errorf("LU %s is not registered", want.GUID)
	}
	if err := readBack(got); err != nil {
		return fmt.Errorf("read back LU %s: %w", want.GUID, err)
	}
	views, err := c.ListView(ctx, want.GUID)
	if err != nil {
		return fmt.Errorf("read back views of %s: %w", want.GUID, err)
	}
	return compareLU(want, toStoreLU(got, views))
}

// compareLU lists every difference between the captured and present
// identity. Entry numbers may differ (STMF assigns them); host group, target
// group and LUN may not.
func compareLU(want, got store.LU) error {
	var diffs []string
	cmp := func(what string, w, g any) {
		if w != g {
			diffs = append(diffs, fmt.Sprintf("%s is %v, was %v", what, g, w))
		}
	}
	cmp("GUID", want.GUID, got.GUID)
	cmp("data file", want.DataFile, got.DataFile)
	cmp("alias", want.Alias, got.Alias)
	cmp("size", want.Size, got.Size)
	cmp("block size", want.BlockSize, got.BlockSize)
	cmp("vendor id", want.VendorID, got.VendorID)
	cmp("product id", want.ProductID, got.ProductID)
	cmp("serial", want.Serial, got.Serial)
	cmp("management URL", want.MgmtURL, got.MgmtURL)
	cmp("write protect", want.WriteProtect, got.WriteProtect)
	cmp("writeback cache disabled", want.WritebackCacheDisabled, got.WritebackCacheDisabled)
	if want.OperationalStatus != "" && got.OperationalStatus != want.OperationalStatus {
		diffs = append(diffs, "status is "+got.OperationalStatus+", was "+want.OperationalStatus)
	}
	var wk, gk []string
	for _, v := range want.Views {
		wk = append(wk, viewKey(v))
	}
	for _, v := range got.Views {
		gk = append(gk, viewKey(v))
	}
	slices.Sort(wk)
	slices.Sort(gk)
	if !slices.Equal(wk, gk) {
		diffs = append(diffs, fmt.Sprintf("views are [%s], were [%s]", strings.Join(gk, " "), strings.Join(wk, " ")))
	}
	if len(diffs) > 0 {
		return fmt.Errorf("LU %s differs from its captured identity: %s", want.GUID, strings.Join(diffs, "; "))
	}
	return nil
}
