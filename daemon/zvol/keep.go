package zvol

// What a rollback that keeps what it replaces (issue 22, docs/keep.md)
// names and marks: the kept dataset and the user property that says it is
// volctl's.

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/zfs"
	"github.com/volctl/volctl/internal/zfsname"
)

// KeptMarkProp is the user property volctl sets on a kept dataset (its
// value: KeptMark). forget destroys only a dataset that carries the mark
// of the operation it forgets.
const KeptMarkProp = "volctl:kept"

// KeptSuffix names an operation's kept datasets: each is its volume's name
// followed by ".kept-ID-YYYYMMDDThhmmssZ" (the operation's id and creation
// time, UTC). The id makes it unique in this journal, the time across
// journals (a new journal starts at id 1 again); the volume's name first
// puts it next to the volume in `zfs list`.
func KeptSuffix(op uint64, created time.Time) string {
	return fmt.Sprintf(".kept-%d-%s", op, created.UTC().Format("20060102T150405Z"))
}

// KeptMark is the value of KeptMarkProp on the dataset an operation kept.
func KeptMark(op uint64, volume, snapshot string) string {
	return fmt.Sprintf("operation %d: %s before it went back to %s", op, volume, snapshot)
}

// IsKeptName reports whether ds is named as a kept dataset of some volume.
func IsKeptName(ds string) bool {
	i := strings.LastIndex(ds, ".kept-")
	return i > 0 && !strings.Contains(ds[i:], "/")
}

// KeptName is volume+suffix, refused (zfsname's wording) when it is not a
// valid name or when one of the snapshots that move with it (snaps, their
// short names) would not fit under it: zfs rename would refuse then.
func KeptName(volume, suffix string, snaps []string) (string, error) {
	if suffix == "" || !strings.HasPrefix(suffix, ".kept-") {
		return "", fmt.Errorf("no kept-dataset suffix (%q): the engine sets it before the capture", suffix)
	}
	kept := volume + suffix
	if err := zfsname.ValidateDatasetName(kept); err != nil {
		return "", fmt.Errorf("the kept dataset's name: %w", err)
	}
	for _, s := range snaps {
		if _, short, ok := strings.Cut(s, "@"); ok {
			s = short
		}
		if err := zfsname.ValidateSnapshotName(kept + "@" + s); err != nil {
			return "", fmt.Errorf("snapshot %s would move to the kept dataset: %w", s, err)
		}
	}
	return kept, nil
}

// KeptUsed reads what a kept dataset holds now, for volctl kept and
// forget's plan (both backends' engine.KeptReader): its used property, in
// bytes (zfs get -H -p; docs/keep.md §4). A value that is not a number is
// an error quoting it, never 0.
func KeptUsed(ctx context.Context, z zfs.Cmd, dataset string) (uint64, error) {
	if err := zfsname.ValidateDatasetName(dataset); err != nil || !IsKeptName(dataset) {
		return 0, fmt.Errorf("%q is not a kept dataset's name: %w", dataset, engine.ErrInvalid)
	}
	props, err := z.Get(ctx, dataset, "used")
	if err != nil {
		return 0, fmt.Errorf("read what %s holds: %w", dataset, err)
	}
	v, ok := props["used"]
	if !ok {
		return 0, fmt.Errorf("read what %s holds: zfs get printed no used property", dataset)
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("read what %s holds: zfs get printed used %q, not a number of bytes", dataset, v)
	}
	return n, nil
}
