package linuxstack

import (
	"bytes"
	"strings"
	"testing"
)

// TestStack checks the harness itself: a file-backed LU written and read
// over iSCSI, with the identity it was given.
func TestStack(t *testing.T) {
	s := Start(t)
	_, mp := s.CreateFS(t, "h")
	s.CreateFile(t, mp+"/d.img", 4<<20)
	const iqn = "iqn.2026-11.test:harness"
	s.Export(t, Export{TID: 1, IQN: iqn, LUN: 1, Path: mp + "/d.img", SCSIID: "600144f0aaaabbbb0000000000000009", SCSISN: "SN-H1", Addresses: []string{"127.0.0.1"}})
	data := bytes.Repeat([]byte("volctl"), 1000)
	s.Write(t, iqn, 1, 8192, data)
	if got := s.Read(t, iqn, 1, 8192, len(data)); !bytes.Equal(got, data) {
		t.Fatalf("read back differs")
	}
	if n := s.Capacity(t, iqn, 1); n != 4<<20 {
		t.Errorf("capacity %d", n)
	}
	if out := s.Inquiry(t, iqn, 1, 128); !strings.Contains(out, "SN-H1]") {
		t.Errorf("VPD 0x80: %q", out)
	}
	if out := s.Inquiry(t, iqn, 1, 131); !strings.Contains(out, "Designator:[600144f0aaaabbbb0000000000000009]") {
		t.Errorf("VPD 0x83: %q", out)
	}
}
