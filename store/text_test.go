package store

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
)

func TestSafeText(t *testing.T) {
	tests := []struct {
		name, in string
		max      int
		want     string
	}{
		{"plain", "pool/v@s", 512, "pool/v@s"},
		{"unicode kept", "pool/vö@ß", 512, "pool/vö@ß"},
		{"controls escaped", "a\nb\tc\x1b[31md\x7f", 512, `a\nb\tc\x1b[31md\x7f`},
		{"invalid bytes escaped", "a\xffb\xc3", 512, `a\xffb\xc3`},
		{"C1 and bidi escaped", "a\u0085b\u202ec\u2066", 512, `a\u0085b\u202ec\u2066`},
		{"no limit", strings.Repeat("x", 2000), 0, strings.Repeat("x", 2000)},
		{"cut", strings.Repeat("x", 100), 60, "xxxxxxxxxxxxxxxx…[cut: 100 bytes, sha256 "}, // and 16 hex digits
		{"fits exactly", strings.Repeat("x", 60), 60, strings.Repeat("x", 60)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := SafeText(tc.in, tc.max)
			if strings.HasSuffix(tc.want, "sha256 ") {
				if !strings.HasPrefix(got, tc.want) || len(got) != len(tc.want)+17 || len(got) > tc.max {
					t.Errorf("SafeText = %q (%d bytes), want %q and a digest", got, len(got), tc.want)
				}
				return
			}
			if got != tc.want {
				t.Errorf("SafeText(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
			}
		})
	}
	if a, b := SafeText(strings.Repeat("a", 600)+"1", 512), SafeText(strings.Repeat("a", 600)+"2", 512); a == b {
		t.Error("two long texts that differ at the end are cut to the same text")
	}
}

func FuzzSafeText(f *testing.F) {
	for _, s := range []string{"pool/v@s", "a\nb", "\xff\xfe", strings.Repeat("é", 300), "\u202e"} {
		f.Add(s, 64)
	}
	f.Fuzz(func(t *testing.T, s string, max int) {
		if max < 0 || max > 1<<16 {
			return
		}
		got := SafeText(s, max)
		if !utf8.ValidString(got) {
			t.Fatalf("SafeText(%q) = %q: invalid UTF-8", s, got)
		}
		if max >= 64 && len(got) > max {
			t.Fatalf("SafeText(%q, %d) is %d bytes", s, max, len(got))
		}
		for _, r := range got {
			if needsEscape(r) {
				t.Fatalf("SafeText(%q) = %q keeps %U", s, got, r)
			}
		}
		if isSafe(s) && (max == 0 || len(s) <= max) && got != s {
			t.Fatalf("SafeText changed safe text %q to %q", s, got)
		}
	})
}

// TestAuditRecordsAreCapped: what AppendAudit stores is capped and valid
// UTF-8, and so is what ListAudit returns of a record an older volctld
// stored whole.
func TestAuditRecordsAreCapped(t *testing.T) {
	db := openTest(t)
	big := strings.Repeat("\xff", 1<<20)
	if _, err := db.AppendAudit(AuditRecord{Who: "uid=1001", Method: "m", Target: big, Detail: big + big}); err != nil {
		t.Fatal(err)
	}
	// An older volctld's record, as it stored it.
	v, _ := json.Marshal(AuditRecord{Seq: 2, Who: "uid=1001", Method: "m", Target: strings.Repeat("t", 4<<20)})
	if err := db.bolt.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketRoot).Bucket(bucketAudit)
		if _, err := b.NextSequence(); err != nil {
			return err
		}
		return b.Put(u64(2), v)
	}); err != nil {
		t.Fatal(err)
	}
	recs, err := db.ListAudit(0, 0)
	if err != nil || len(recs) != 2 {
		t.Fatalf("ListAudit = %d, %v", len(recs), err)
	}
	for _, r := range recs {
		if len(r.Target) > MaxAuditText || len(r.Detail) > MaxAuditDetail || !utf8.ValidString(r.Target) ||
			!strings.Contains(r.Target, "…[cut: ") {
			t.Errorf("record %d: target %d bytes, detail %d bytes", r.Seq, len(r.Target), len(r.Detail))
		}
	}
}

func TestListAuditPage(t *testing.T) {
	db := openTest(t)
	for i := 0; i < 10; i++ {
		if _, err := db.AppendAudit(AuditRecord{Who: "w", Method: "m", Detail: strings.Repeat("d", 1000)}); err != nil {
			t.Fatal(err)
		}
	}
	recs, more, err := db.ListAuditPage(0, 0, 3500)
	if err != nil || len(recs) != 3 || !more {
		t.Fatalf("ListAuditPage(bytes 3500) = %d records, more=%v, %v; want 3, true", len(recs), more, err)
	}
	recs, more, _ = db.ListAuditPage(0, 0, 10)
	if len(recs) != 1 || !more {
		t.Fatalf("a page always holds one record: got %d", len(recs))
	}
	recs, more, _ = db.ListAuditPage(7, 0, 0)
	if len(recs) != 3 || more || recs[0].Seq != 8 {
		t.Fatalf("ListAuditPage(after 7) = %d records, more=%v", len(recs), more)
	}
	for _, after := range []uint64{10, 11, math.MaxUint64 - 1, math.MaxUint64} {
		if recs, _ := db.ListAudit(after, 0); len(recs) != 0 {
			t.Errorf("ListAudit(after=%d) = %d records, want none (no wrap to the start)", after, len(recs))
		}
	}
}
