package simtest

import (
	"strings"
	"testing"
)

func TestSample(t *testing.T) {
	for _, tc := range []struct {
		env   string
		taken []int
		note  string
	}{
		{"", []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, ""},
		{"1", []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, ""},
		{"x", []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, ""},
		{"4", []int{0, 4, 8}, "1 in 4 of 10 cases"},
	} {
		t.Setenv("VOLCTL_FAULT_SAMPLE", tc.env)
		s := NewSample()
		var got []int
		for i := 0; i < 10; i++ {
			if s.Take() {
				got = append(got, i)
			}
		}
		if len(got) != len(tc.taken) {
			t.Fatalf("VOLCTL_FAULT_SAMPLE=%q: took %v, want %v", tc.env, got, tc.taken)
		}
		for i := range got {
			if got[i] != tc.taken[i] {
				t.Fatalf("VOLCTL_FAULT_SAMPLE=%q: took %v, want %v", tc.env, got, tc.taken)
			}
		}
		if n := s.Note(); (tc.note == "") != (n == "") || !strings.Contains(n, tc.note) {
			t.Fatalf("VOLCTL_FAULT_SAMPLE=%q: note %q, want %q", tc.env, n, tc.note)
		}
	}
}
