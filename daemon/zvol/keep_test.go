package zvol

import (
	"strings"
	"testing"
	"time"
)

func TestKeptName(t *testing.T) {
	at := time.Date(2026, 12, 7, 15, 24, 35, 0, time.FixedZone("X", 3600))
	suffix := KeptSuffix(7, at)
	if suffix != ".kept-7-20261207T142435Z" {
		t.Fatalf("suffix = %q", suffix)
	}
	got, err := KeptName("pool/idisk0", suffix, []string{"pool/idisk0@snap2", "snap3"})
	if err != nil || got != "pool/idisk0.kept-7-20261207T142435Z" {
		t.Fatalf("KeptName = %q, %v", got, err)
	}
	if !IsKeptName(got) || IsKeptName("pool/idisk0") || IsKeptName("pool/a.kept-1/b") {
		t.Fatal("IsKeptName is wrong")
	}
	long := "pool/" + strings.Repeat("v", 240)
	if _, err := KeptName(long, suffix, nil); err == nil || !strings.Contains(err.Error(), "too long") {
		t.Fatalf("a kept name past 255 bytes: err = %v", err)
	}
	// The volume's name fits, the kept name fits, a newer snapshot that
	// moves with it does not.
	mid := "pool/" + strings.Repeat("v", 200)
	if _, err := KeptName(mid, suffix, []string{mid + "@" + strings.Repeat("s", 30)}); err == nil || !strings.Contains(err.Error(), "would move") {
		t.Fatalf("a snapshot too long under the kept name: err = %v", err)
	}
	if _, err := KeptName("pool/v", "", nil); err == nil {
		t.Fatal("an empty suffix was accepted")
	}
}
