package store

import "time"

// Kept is a STAND-IN for the kept-dataset record the keep-engine branch
// defines in store (issue 22, docs/keep.md §4), so that the API branch
// builds on its own. The lead deletes this file when merging.
type Kept struct {
	Op       uint64
	Kind     string
	Volume   string
	Snapshot string
	Dataset  string
	Created  time.Time
	State    string
	EndedBy  uint64
}
