package engine

import (
	"testing"
	"time"
)

// TestReadSlot: one chunk of a long read at a time; the next goes when
// the first is read.
func TestReadSlot(t *testing.T) {
	w := newWindows()
	release := w.readSlot()
	got := make(chan func())
	go func() { got <- w.readSlot() }()
	select {
	case <-got:
		t.Fatal("a second reader got the slot while the first held it")
	case <-time.After(50 * time.Millisecond):
	}
	release()
	select {
	case rel := <-got:
		rel()
	case <-time.After(30 * time.Second):
		t.Fatal("the second reader did not get the slot once the first let it go")
	}
}
