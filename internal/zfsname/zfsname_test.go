package zfsname

import (
	"errors"
	"strings"
	"testing"
)

func reason(err error) string {
	var ne *NameError
	if errors.As(err, &ne) {
		return ne.Reason
	}
	if err != nil {
		return "non-NameError: " + err.Error()
	}
	return ""
}

func TestValidateDatasetName(t *testing.T) {
	long := "tank/" + strings.Repeat("v", 250)
	for _, tc := range []struct{ in, want string }{
		{"tank", ""},
		{"tank/vol", ""},
		{"rpool/VARSHARE/zones/kzone1/disk0", ""},
		{"Tank_2/a-b.c:d", ""},
		{long, ""}, // 255 characters
		{long + "v", "name is too long"},
		{"", "empty component in name"},
		{"/tank/vol", "leading slash in name"},
		{"tank/vol/", "trailing slash in name"},
		{"tank//vol", "empty component in name"},
		{"tank/vol;rm", "invalid character ';' in name"},
		{"tank/my vol", "invalid character ' ' in name"},
		{"tank/vol%1", "invalid character '%' in name"},
		{"tank/vol*", "invalid character '*' in name"},
		{"tank/v\x00", `invalid character '\x00' in name`},
		{"tank/völ", "invalid character 'ö' in name"},
		{"tank/vol@s1", "snapshot delimiter '@' is not expected here"},
		{"tank/vol#bm", "bookmark delimiter '#' is not expected here"},
		{"tank/./vol", "self reference, '.' is found in name"},
		{"tank/../vol", "parent reference, '..' is found in name"},
		{"tank/.vol", ""},
		{"1tank/vol", "pool doesn't begin with a letter"},
		{"_tank", "pool doesn't begin with a letter"},
		{"mirror/vol", "name is reserved"},
		{"raidz", "name is reserved"},
		{"mirrorpool/vol", ""},
		{"c0t0d0/vol", "reserved disk name"},
		{"cache/vol", ""},
		{"t" + strings.Repeat("/a", 49), ""},
		{"t" + strings.Repeat("/a", 50), "maximum name nesting depth exceeded"},
	} {
		err := ValidateDatasetName(tc.in)
		if got := reason(err); got != tc.want {
			t.Errorf("ValidateDatasetName(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if err != nil && !errors.Is(err, ErrInvalidName) {
			t.Errorf("%q: error does not match ErrInvalidName", tc.in)
		}
	}
}

func TestValidateSnapshotName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"tank/vol@s1", ""},
		{"tank@volctl-2024-01-01T00:00:00Z", ""},
		{"tank/vol", "missing '@' delimiter in snapshot name"},
		{"tank/vol@", "empty component in name"},
		{"@s1", "empty component in name"},
		{"tank/vol@s1@s2", "multiple '@' and/or '#' delimiters in name"},
		{"tank/vol@s1#b", "multiple '@' and/or '#' delimiters in name"},
		{"tank/vol@s1/x", "trailing slash in name"},
		// issue 13: the ';' is the problem, not the '/' that follows it.
		{"pool/idisk0@snap1;rm -rf /", "invalid character ';' in name"},
		{"pool/idisk0@snap1/x;y", "invalid character ';' in name"},
		{"tank/vol@bad*", "invalid character '*' in name"},
		{"tank/vol@my snap", "invalid character ' ' in name"},
		{"tank/vol@50%", "invalid character '%' in name"},
		{"tank/vol#b@s", "bookmark delimiter '#' is not expected here"},
		{"tank/vol/@s", "trailing slash in name"},
		{"tank/vol@..", "parent reference, '..' is found in name"},
		{"tank/vol@" + strings.Repeat("s", 246), ""},
		{"tank/vol@" + strings.Repeat("s", 247), "name is too long"},
		{"t" + strings.Repeat("/a", 48) + "@s", ""},
		{"t" + strings.Repeat("/a", 49) + "@s", "maximum name nesting depth exceeded"},
	} {
		if got := reason(ValidateSnapshotName(tc.in)); got != tc.want {
			t.Errorf("ValidateSnapshotName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestValidateSnapComponent(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"s1", ""},
		{"volctl-20240101.000000:pre", ""},
		{"", "empty component in name"},
		{"a/b", "trailing slash in name"},
		{"a@b", "multiple '@' and/or '#' delimiters in name"},
		{"a b", "invalid character ' ' in name"},
		{"a;b", "invalid character ';' in name"},
		{strings.Repeat("s", 256), "name is too long"},
	} {
		if got := reason(ValidateSnapComponent(tc.in)); got != tc.want {
			t.Errorf("ValidateSnapComponent(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSplitSnapshot(t *testing.T) {
	ds, snap, err := SplitSnapshot("tank/vol@s1")
	if err != nil || ds != "tank/vol" || snap != "s1" {
		t.Errorf("got %q %q %v", ds, snap, err)
	}
	if _, _, err := SplitSnapshot("tank/vol"); reason(err) != "missing '@' delimiter in snapshot name" {
		t.Errorf("got %v", err)
	}
	if err := ValidateSnapshotName("x;y@z"); err == nil || err.Error() != `invalid name "x;y@z": invalid character ';' in name` {
		t.Errorf("Error() = %v", err)
	}
}
