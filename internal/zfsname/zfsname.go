// Package zfsname validates ZFS dataset and snapshot names by the rules of
// zfs_namecheck.c and libzfs (docs/platform/zfs.md §8). It is pure (no exec,
// no I/O) so that both volctld and the volctl CLI can refuse a bad name with
// the same words, without the CLI linking daemon code.
package zfsname

import (
	"errors"
	"fmt"
	"strings"
)

// Name limits from zfs_namecheck.c (docs/platform/zfs.md §8).
const (
	// MaxNameLen is the longest full name, including pool, '/', '@' and the
	// snapshot part: ZFS_MAX_DATASET_NAME_LEN (256) counts the NUL.
	MaxNameLen = 255
	// MaxNesting is OpenZFS's default zfs_max_dataset_nesting; a name may
	// have at most MaxNesting-1 levels below the pool ('@' counts as one).
	MaxNesting = 50
)

// ErrInvalidName is matched (errors.Is) by every *NameError.
var ErrInvalidName = errors.New("invalid name")

// NameError is a rejected dataset or snapshot name. Reason uses the wording
// of libzfs (docs/platform/zfs.md §8), e.g. "name is too long", "invalid
// character ';' in name".
type NameError struct{ Name, Reason string }

func (e *NameError) Error() string        { return fmt.Sprintf("invalid name %q: %s", e.Name, e.Reason) }
func (e *NameError) Is(target error) bool { return target == ErrInvalidName }

func nameErr(name, format string, args ...any) error {
	return &NameError{Name: name, Reason: fmt.Sprintf(format, args...)}
}

// ValidateDatasetName checks a filesystem or volume name ("pool[/child...]")
// by the rules of zfs_namecheck.c and libzfs zfs_validate_name
// (docs/platform/zfs.md §8):
// length < 256; no leading or trailing '/', no empty component, no "." or
// ".." component (OpenZFS); no '@' or '#'; at most MaxNesting levels; the pool
// component starts with a letter, is not a reserved vdev word (mirror, raidz,
// draid, spare, log) and does not look like a disk (c0...).
//
// Characters allowed are A-Z a-z 0-9 '_' '-' '.' ':'. That is stricter than
// ZFS in two ways, on purpose: '%' (which ZFS refuses only on create, snapshot
// and rename) and space. ZFS does allow spaces in names, but volctl is a safety
// tool that passes names through argv, logs and device paths, and a space is
// a footgun there (one quoting slip targets a different dataset), so names
// with spaces are refused: "invalid character ' ' in name".
func ValidateDatasetName(name string) error { return validateDataset(name, name, 0) }

// validateDataset checks ds, reporting errors against full; extra is the
// nesting contributed by a snapshot part.
func validateDataset(full, ds string, extra int) error {
	switch {
	case len(full) > MaxNameLen:
		return nameErr(full, "name is too long")
	case ds == "":
		return nameErr(full, "empty component in name")
	case ds[0] == '/':
		return nameErr(full, "leading slash in name")
	case strings.Contains(ds, "@"):
		return nameErr(full, "snapshot delimiter '@' is not expected here")
	case strings.Contains(ds, "#"):
		return nameErr(full, "bookmark delimiter '#' is not expected here")
	}
	comps := strings.Split(ds, "/")
	for i, c := range comps {
		if c == "" {
			if i == len(comps)-1 {
				return nameErr(full, "trailing slash in name")
			}
			return nameErr(full, "empty component in name")
		}
		if err := checkComponent(full, c); err != nil {
			return err
		}
	}
	if len(comps)-1+extra >= MaxNesting {
		return nameErr(full, "maximum name nesting depth exceeded")
	}
	return checkPool(full, comps[0])
}

// checkComponent rejects "." / ".." and characters outside the allowed set.
func checkComponent(full, c string) error {
	switch c {
	case ".":
		return nameErr(full, "self reference, '.' is found in name")
	case "..":
		return nameErr(full, "parent reference, '..' is found in name")
	}
	for _, r := range c {
		if !validChar(r) {
			return nameErr(full, "invalid character %q in name", r)
		}
	}
	return nil
}

func validChar(r rune) bool {
	return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' ||
		r == '_' || r == '-' || r == '.' || r == ':'
}

// checkPool applies the pool-name rules of zfs_namecheck.c pool_namecheck
// (reserved words as in libzfs zpool_name_valid, exact match).
func checkPool(full, pool string) error {
	c := pool[0]
	switch {
	case !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'):
		return nameErr(full, "pool doesn't begin with a letter")
	case pool == "mirror" || pool == "raidz" || pool == "draid" || pool == "spare" || pool == "log":
		return nameErr(full, "name is reserved")
	case c == 'c' && len(pool) > 1 && '0' <= pool[1] && pool[1] <= '9':
		return nameErr(full, "reserved disk name")
	}
	return nil
}

// ValidateSnapshotName checks a full snapshot name "DS@SNAP": the whole name
// is < 256 characters, there is exactly one '@', DS passes ValidateDatasetName
// and SNAP passes ValidateSnapComponent (docs/platform/zfs.md §8). No '@' gives
// "missing '@' delimiter in snapshot name".
func ValidateSnapshotName(name string) error {
	if len(name) > MaxNameLen {
		return nameErr(name, "name is too long")
	}
	ds, snap, ok := strings.Cut(name, "@")
	if !ok {
		return nameErr(name, "missing '@' delimiter in snapshot name")
	}
	if err := validateDataset(name, ds, 1); err != nil {
		return err
	}
	if err := validateSnap(name, snap); err != nil {
		return err
	}
	return nil
}

// ValidateSnapComponent checks the part after '@' on its own, with the same
// character rules (and the same refusal of space and '%') as
// ValidateDatasetName.
func ValidateSnapComponent(snap string) error { return validateSnap(snap, snap) }

func validateSnap(full, snap string) error {
	switch {
	case len(full) > MaxNameLen:
		return nameErr(full, "name is too long")
	case snap == "":
		return nameErr(full, "empty component in name")
	case strings.ContainsAny(snap, "@#"):
		return nameErr(full, "multiple '@' and/or '#' delimiters in name")
	}
	// A character no name may have is the real problem, and is named
	// before a '/' after '@' (which zfs calls a trailing slash,
	// docs/platform/zfs.md §8): "@snap1;rm -rf /" is refused for its ';'.
	for _, r := range snap {
		if r != '/' && !validChar(r) {
			return nameErr(full, "invalid character %q in name", r)
		}
	}
	if strings.Contains(snap, "/") {
		return nameErr(full, "trailing slash in name")
	}
	return checkComponent(full, snap)
}

// SplitSnapshot validates full with ValidateSnapshotName and splits it into
// dataset and snapshot parts.
func SplitSnapshot(full string) (ds, snap string, err error) {
	if err := ValidateSnapshotName(full); err != nil {
		return "", "", err
	}
	ds, snap, _ = strings.Cut(full, "@")
	return ds, snap, nil
}

// VolumeOf validates a dataset or snapshot name and returns the dataset:
// POOL/VOL for POOL/VOL@SNAP.
func VolumeOf(name string) (string, error) {
	if name == "" {
		return "", errors.New("empty name")
	}
	if strings.Contains(name, "@") {
		ds, _, err := SplitSnapshot(name)
		return ds, err
	}
	return name, ValidateDatasetName(name)
}
