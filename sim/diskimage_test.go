package sim

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/volctl/volctl/internal/bootdisk"
)

// readImage reads a volume's image file with the label reader volctld uses.
func readImage(t *testing.T, root, vol string) *bootdisk.Config {
	t.Helper()
	f, err := os.Open(ImagePath(root, vol))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	d, err := bootdisk.ReadDisk(f, fi.Size())
	if err != nil {
		t.Fatalf("%s: %v", vol, err)
	}
	sl, err := d.Pool()
	if err != nil {
		t.Fatalf("%s: %v", vol, err)
	}
	if sl.Slice.Minor != "b" || len(sl.Labels.Agree) != bootdisk.NumLabels {
		t.Errorf("%s: pool in slice %q, labels agreeing %v", vol, sl.Slice.Minor, sl.Labels.Agree)
	}
	c, err := sl.Labels.Config()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// checkImage compares what the reader reads from the image with the
// label in the state.
func checkImage(t *testing.T, root, vol string) {
	t.Helper()
	l := label(t, root, vol)
	c := readImage(t, root, vol)
	leaves := c.Tree.Leaves()
	state := map[string]uint64{PoolActive: 0, PoolExported: 1}[l.State]
	if c.Name != l.Pool || c.PoolGUID != l.PoolGUID || c.TXG != l.TXG || c.State != state ||
		!c.HasHostID || c.HostID != l.HostID || c.Hostname != l.Hostname || c.GUID != l.Vdev.GUID ||
		len(leaves) != 1 || leaves[0].Path != l.Vdev.Path || leaves[0].PhysPath != l.Vdev.PhysPath || leaves[0].DevID != l.Vdev.DevID {
		t.Errorf("%s: image reads %+v (vdev %+v), state has %+v", vol, c, leaves[0], l)
	}
}

// TestDiskImages: every labelled volume is a disk image the bootdisk
// reader reads back as the state's label, rewritten as the label changes,
// gone with the label (kz-boot.md §7).
func TestDiskImages(t *testing.T) {
	root := rescueSeeded(t)
	checkImage(t, root, "pool/idisk0")
	checkImage(t, root, RescueZvol)
	// The image is the volume's size, as a zvol's raw device is (check-boot
	// compares the two).
	if fi, err := os.Stat(ImagePath(root, "pool/idisk0")); err != nil || fi.Size() != 1<<30 {
		t.Fatalf("image: %v %v, want 1 GiB (pool/idisk0's volsize)", fi, err)
	}
	if _, err := os.Stat(ImagePath(root, "pool/idisk1")); !os.IsNotExist(err) {
		t.Errorf("pool/idisk1 (no label) has an image: %v", err)
	}
	if err := BreakBoot(root, "kz1", &strings.Builder{}, &strings.Builder{}); err != nil {
		t.Fatal(err)
	}
	if c := readImage(t, root, "pool/idisk0"); c.Tree.Leaves()[0].PhysPath != "/scsi_vhci/disk@g"+lc0+":b" {
		t.Errorf("after break-boot the image says %q", c.Tree.Leaves()[0].PhysPath)
	}
	checkImage(t, root, "pool/idisk0")
	// A clone has the snapshot's label; a rename moves the image; a
	// destroy removes it.
	must(t, root, "zfs", "clone", "pool/idisk0@snap1", "pool/c1")
	checkImage(t, root, "pool/c1")
	if c := readImage(t, root, "pool/c1"); c.Tree.Leaves()[0].PhysPath != "/zvnex/zvblk@0:b" {
		t.Errorf("the clone of @snap1 says %q", c.Tree.Leaves()[0].PhysPath)
	}
	must(t, root, "zfs", "rename", "pool/c1", "pool/c2")
	checkImage(t, root, "pool/c2")
	if _, err := os.Stat(ImagePath(root, "pool/c1")); !os.IsNotExist(err) {
		t.Errorf("renamed volume's old image: %v", err)
	}
	must(t, root, "zfs", "destroy", "pool/c2")
	if _, err := os.Stat(ImagePath(root, "pool/c2")); !os.IsNotExist(err) {
		t.Errorf("destroyed volume's image: %v", err)
	}
	// A rollback brings back the snapshot's label in the image.
	runSteps2 := []kzStep{
		{"stmfadm delete-lu -k " + guid0, 0, "", ""},
		{"zfs rollback pool/idisk0@snap1", 0, "", ""},
	}
	kzSteps(t, root, runSteps2)
	if c := readImage(t, root, "pool/idisk0"); c.Tree.Leaves()[0].PhysPath != "/zvnex/zvblk@0:b" || c.Hostname != "kz1" {
		t.Errorf("after the rollback the image says %q, %q", c.Tree.Leaves()[0].PhysPath, c.Hostname)
	}
	// A file the simulator did not write is left alone.
	stray := filepath.Join(root, "dev", "zvol", "rdsk", "pool", "stray")
	if err := os.WriteFile(stray, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	must(t, root, "zfs", "snapshot", "pool/idisk0@s2")
	if _, err := os.Stat(stray); err != nil {
		t.Errorf("stray file: %v", err)
	}
}

// TestNoImagesWithoutLabels: illumos has no labelled volume, so no image.
func TestNoImagesWithoutLabels(t *testing.T) {
	root := seededFlavor(t, FlavorIllumos)
	if _, err := os.Stat(filepath.Join(root, "dev")); !os.IsNotExist(err) {
		t.Errorf("illumos seed has %s/dev: %v", root, err)
	}
}
