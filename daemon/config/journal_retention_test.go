package config

import (
	"strings"
	"testing"
	"time"
)

// TestJournalRetentionConfig: [journal] keep_for and keep_last are read,
// and a negative or too short value is refused, each on its own line.
func TestJournalRetentionConfig(t *testing.T) {
	c, err := Load(writeConfig(t, "[journal]\nkeep_for = \"8760h\"\nkeep_last = 5000\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Journal.KeepFor.Duration != 8760*time.Hour || c.Journal.KeepLast != 5000 {
		t.Errorf("[journal] read as %+v", c.Journal)
	}
	p := writeConfig(t, "[journal]\nkeep_for = \"10m\"\nkeep_last = -1\n")
	_, err = Load(p)
	got := strings.Join(lines(err, p), "\n")
	for _, want := range []string{"journal.keep_last -1 is negative", "journal.keep_for 10m0s is under an hour"} {
		if !strings.Contains(got, want) {
			t.Errorf("Load of a bad [journal]: %q lacks %q", got, want)
		}
	}
	p = writeConfig(t, "[journal]\nkeep_for = \"-1h\"\n")
	_, err = Load(p)
	got = strings.Join(lines(err, p), "\n")
	for _, want := range []string{"journal.keep_for -1h0m0s is negative"} {
		if !strings.Contains(got, want) {
			t.Errorf("Load of a bad [journal]: %q lacks %q", got, want)
		}
	}
}
