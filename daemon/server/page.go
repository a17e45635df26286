package server

import (
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/volctl/volctl/daemon/engine"
)

// maxPageSize caps every List's page_size (AIP-158: larger values are
// coerced down, not refused).
const maxPageSize = 1000

// pageSize is a List's page size: page_size, or the deprecated limit when
// page_size is 0, or def; at most maxPageSize. A negative page_size is
// refused.
func pageSize(size, limit int32, def int) (int, error) {
	switch {
	case size < 0:
		return 0, fmt.Errorf("page_size %d is negative: %w", size, engine.ErrInvalid)
	case size == 0 && limit > 0:
		size = limit
	case size == 0:
		return min(def, maxPageSize), nil
	}
	return min(int(size), maxPageSize), nil
}

// pageToken is what a next_page_token holds, base64 of this as JSON: which
// list it pages and with what filter, so that a token is refused on
// another request (AIP-158), and where the next page starts.
type pageToken struct {
	// List is the method: "volumes", "snapshots", "operations", "audit".
	List string `json:"l"`
	// Filter is the request's filter (the volume), as it was.
	Filter string `json:"f,omitempty"`
	// After is the last name the page held (volumes, snapshots).
	After string `json:"a,omitempty"`
	// Created is the last snapshot's creation (Unix ns), for when it was
	// destroyed between pages: the next page starts after that time (ZFS
	// keeps seconds, so one created in the same second is left out then).
	Created int64 `json:"c,omitempty"`
	// Before is the last id or seq the page held (operations, audit).
	Before uint64 `json:"b,omitempty"`
}

func (t pageToken) String() string {
	b, _ := json.Marshal(t)
	return base64.RawURLEncoding.EncodeToString(b)
}

// parseToken reads a page_token for list with filter; the empty token is
// the first page (the zero pageToken).
func parseToken(s, list, filter string) (pageToken, error) {
	if s == "" {
		return pageToken{}, nil
	}
	var t pageToken
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &t)
	}
	if err != nil || t.List != list {
		return pageToken{}, fmt.Errorf("page_token: not a token of this list: %w", engine.ErrInvalid)
	}
	if t.Filter != filter {
		return pageToken{}, fmt.Errorf("page_token: it pages a list with another filter (volume %q, not %q): %w", t.Filter, filter, engine.ErrInvalid)
	}
	return t, nil
}
