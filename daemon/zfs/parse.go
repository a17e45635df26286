// Package zfs parses the output of the zfs(8) commands volctl runs on Oracle
// Solaris 11.4 and illumos and validates dataset and snapshot names.
//
// Everything here is a pure function from bytes to values: no exec, no I/O.
// Formats and message texts come from docs/platform/zfs.md (zfs.md below),
// read from source rather than captured on a live host: the parsers tolerate
// layout noise (CRLF, blank lines) but a row with the wrong number of fields
// or a number that does not parse is an error, never a guess.
package zfs

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// ParseList parses scripted (-H) output of `zfs list` or `zfs get`: one row
// per line, fields separated by a single TAB, no header (zfs.md §5.1, §6.1).
// Each row must have exactly len(cols) fields; it becomes a map from column
// name to the raw field. Blank lines are skipped; a trailing CR is dropped.
func ParseList(out []byte, cols []string) ([]map[string]string, error) {
	if len(cols) == 0 {
		return nil, fmt.Errorf("zfs -H output: no columns requested")
	}
	var rows []map[string]string
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 64*1024), len(out)+1)
	for n := 1; sc.Scan(); n++ {
		text := strings.TrimSuffix(sc.Text(), "\r")
		if strings.TrimSpace(text) == "" {
			continue
		}
		f := strings.Split(text, "\t")
		if len(f) != len(cols) {
			return nil, fmt.Errorf("zfs -H output line %d: %d fields, want %d (%s)",
				n, len(f), len(cols), strings.Join(cols, ","))
		}
		row := make(map[string]string, len(cols))
		for i, c := range cols {
			row[c] = f[i]
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// Dataset is one row of `zfs list -H -p -o name,type,creation,used,referenced,volsize`.
type Dataset struct {
	Name, Type string
	Creation   int64 // seconds since the epoch
	Used       uint64
	Referenced uint64
	Volsize    uint64 // 0 when "-" (not a volume)
}

// DatasetColumns is the -o list ParseDatasets expects.
var DatasetColumns = []string{"name", "type", "creation", "used", "referenced", "volsize"}

// ParseDatasets parses `zfs list -H -p -o name,type,creation,used,referenced,volsize`
// (zfs.md §5.1). Inapplicable numbers ("-") are 0.
func ParseDatasets(out []byte) ([]Dataset, error) {
	rows, err := ParseList(out, DatasetColumns)
	if err != nil {
		return nil, err
	}
	ds := make([]Dataset, 0, len(rows))
	for i, r := range rows {
		d := Dataset{Name: r["name"], Type: r["type"]}
		if d.Name == "" {
			return nil, fmt.Errorf("zfs list row %d: empty name", i+1)
		}
		if err := parseNums(r, &d.Creation, &d.Used, &d.Referenced, &d.Volsize); err != nil {
			return nil, fmt.Errorf("zfs list row %d (%s): %w", i+1, d.Name, err)
		}
		ds = append(ds, d)
	}
	return ds, nil
}

// Snapshot is one row of the snapshot listing. Name is the full name,
// Dataset and Snap its parts before and after '@'.
type Snapshot struct {
	Name, Dataset, Snap string
	Creation            int64 // seconds since the epoch
	Used, Referenced    uint64
}

// SnapshotColumns is the -o list ParseSnapshots expects.
var SnapshotColumns = []string{"name", "type", "creation", "used", "referenced"}

// ParseSnapshots parses
// `zfs list -H -p -o name,type,creation,used,referenced -t snapshot -r DS`
// (zfs.md §5.3). Row order is kept: zfs sorts snapshots of one dataset by
// createtxg, i.e. creation order. A row that is not of type "snapshot" or has
// no '@' is an error. Names are split but not validated, so snapshots whose
// names zfsname.ValidateSnapshotName would refuse (spaces) are still listed.
func ParseSnapshots(out []byte) ([]Snapshot, error) {
	rows, err := ParseList(out, SnapshotColumns)
	if err != nil {
		return nil, err
	}
	snaps := make([]Snapshot, 0, len(rows))
	for i, r := range rows {
		s := Snapshot{Name: r["name"]}
		if r["type"] != "snapshot" {
			return nil, fmt.Errorf("zfs list row %d (%s): type %q, want snapshot", i+1, s.Name, r["type"])
		}
		var ok bool
		if s.Dataset, s.Snap, ok = splitAt(s.Name); !ok {
			return nil, fmt.Errorf("zfs list row %d: %q is not a snapshot name", i+1, s.Name)
		}
		if err := parseNums(r, &s.Creation, &s.Used, &s.Referenced, nil); err != nil {
			return nil, fmt.Errorf("zfs list row %d (%s): %w", i+1, s.Name, err)
		}
		snaps = append(snaps, s)
	}
	return snaps, nil
}

// splitAt splits DS@SNAP at its only '@'; both parts must be non-empty.
func splitAt(full string) (ds, snap string, ok bool) {
	ds, snap, ok = strings.Cut(full, "@")
	return ds, snap, ok && ds != "" && snap != "" && !strings.Contains(snap, "@")
}

// parseNums fills creation (required), used, referenced and volsize (if
// non-nil; "-" means 0) from a -p row.
func parseNums(r map[string]string, creation *int64, used, ref, volsize *uint64) error {
	c, err := strconv.ParseInt(r["creation"], 10, 64)
	if err != nil {
		return fmt.Errorf("creation %q: not a number (was -p given?)", r["creation"])
	}
	*creation = c
	for _, f := range []struct {
		col string
		dst *uint64
	}{{"used", used}, {"referenced", ref}, {"volsize", volsize}} {
		if f.dst == nil || r[f.col] == "-" {
			continue
		}
		if *f.dst, err = strconv.ParseUint(r[f.col], 10, 64); err != nil {
			return fmt.Errorf("%s %q: not a number (was -p given?)", f.col, r[f.col])
		}
	}
	return nil
}

// Prop is one row of `zfs get -H -p -o name,property,value,source` (zfs.md
// §6.1). Value is "-" when unset; Source is "-", "default", "local",
// "temporary", "received" or "inherited from <ds>".
type Prop struct{ Name, Property, Value, Source string }

// PropColumns is the -o list ParseGet expects.
var PropColumns = []string{"name", "property", "value", "source"}

// ParseGet parses `zfs get -H -p -o name,property,value,source ...`
// (zfs.md §6.1).
func ParseGet(out []byte) ([]Prop, error) {
	rows, err := ParseList(out, PropColumns)
	if err != nil {
		return nil, err
	}
	props := make([]Prop, 0, len(rows))
	for i, r := range rows {
		if r["name"] == "" || r["property"] == "" {
			return nil, fmt.Errorf("zfs get row %d: empty name or property", i+1)
		}
		props = append(props, Prop{r["name"], r["property"], r["value"], r["source"]})
	}
	return props, nil
}
