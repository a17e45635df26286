package engine

import (
	"slices"
	"testing"

	"github.com/volctl/volctl/store"
)

// TestWithPlanned: history's pages hold the operations being planned in
// id order, each on exactly one page (issue 21 item 2).
func TestWithPlanned(t *testing.T) {
	ops := func(ids ...uint64) []*store.Operation {
		var out []*store.Operation
		for _, id := range ids {
			out = append(out, &store.Operation{ID: id})
		}
		return out
	}
	idsOf := func(ops []*store.Operation) []uint64 {
		var ids []uint64
		for _, op := range ops {
			ids = append(ids, op.ID)
		}
		return ids
	}
	cases := []struct {
		name     string
		page     []*store.Operation
		more     bool
		planned  []*store.Operation
		limit    int
		want     []uint64
		wantMore bool
	}{
		{"none planned", ops(5, 4), false, nil, 10, []uint64{5, 4}, false},
		{"planned above the journal", ops(5, 4), false, ops(7, 6), 10, []uint64{7, 6, 5, 4}, false},
		{"limit cuts the oldest", ops(5, 4), false, ops(6), 2, []uint64{6, 5}, true},
		{"a planned id below the page's cut waits for its page", ops(60, 59), true, ops(61, 7), 2, []uint64{61, 60}, true},
		{"the last page takes it", ops(8), false, ops(7), 2, []uint64{8, 7}, false},
		{"empty journal", nil, false, ops(1), 100, []uint64{1}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, more := withPlanned(tc.page, tc.more, tc.planned, tc.limit)
			if !slices.Equal(idsOf(got), tc.want) || more != tc.wantMore {
				t.Errorf("withPlanned = %v, more %v; want %v, more %v", idsOf(got), more, tc.want, tc.wantMore)
			}
		})
	}
}
