package bootcheck_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/volctl/volctl/daemon/bootcheck"
	"github.com/volctl/volctl/daemon/bootcheck/bootchecktest"
)

const mib = 1 << 20

// TestCheckVerdicts reads built images as the storage host would (the
// raw device path under a zvol device directory) and checks the verdict:
// the kernel zone's own path boots, a global zone's does not, and a disk
// that gives no single answer is an error, never "boots".
func TestCheckVerdicts(t *testing.T) {
	kz := bootchecktest.KZ1("/zvnex/zvblk@0:b")
	global := bootchecktest.KZ1(bootchecktest.GlobalPath)
	global.Hostname, global.HostID = "storage1", 0x1d2e3f40
	other := bootchecktest.KZ1("/zvnex/zvblk@0:a")
	other.Slice, other.Name, other.GUID = 0, "tank", 99
	noLeaf := kz
	noLeaf.LabelGUID = 0x77
	tests := []struct {
		name    string
		img     bootchecktest.Image
		id      int
		boots   bool
		errWant string // "" = a verdict
		problem string
	}{
		{"kernel zone path", bootchecktest.Image{Size: 64 * mib, Pools: []bootchecktest.Pool{kz}}, 0, true, "", ""},
		{"global zone path", bootchecktest.Image{Size: 64 * mib, Pools: []bootchecktest.Pool{global}}, 0, false, "",
			"kz1 will not boot: its root pool's label says phys_path " + bootchecktest.GlobalPath +
				" (written by an import on host storage1 (hostid 1d2e3f40)); a kernel zone imports its root pool by /zvnex/zvblk@0:b"},
		{"another device id", bootchecktest.Image{Size: 64 * mib, Pools: []bootchecktest.Pool{kz}}, 1, false, "",
			"kz1 will not boot: its root pool's label says phys_path /zvnex/zvblk@0:b (written by an import on host kz1 (hostid 8a0c3b11)); a kernel zone imports its root pool by /zvnex/zvblk@1:b"},
		{"unreadable", bootchecktest.Image{Size: 64 * mib, Garbage: true}, 0, false, "partition table", ""},
		{"no pool", bootchecktest.Image{Size: 64 * mib}, 0, false, "no single ZFS pool slice: gpt table", ""},
		{"two pools", bootchecktest.Image{Size: 64 * mib, Pools: []bootchecktest.Pool{kz, other}}, 0, false,
			`2 slices hold ZFS labels (slice a: pool "tank", slice b: pool "rpool")`, ""},
		{"no leaf for this disk", bootchecktest.Image{Size: 64 * mib, Pools: []bootchecktest.Pool{noLeaf}}, 0, false,
			"no leaf with this disk's guid 119", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.MkdirAll(filepath.Join(dir, "pool"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := bootchecktest.Write(filepath.Join(dir, "pool", "kz1disk"), tc.img); err != nil {
				t.Fatal(err)
			}
			res, err := bootcheck.CheckVolume(dir, "pool/kz1disk", uint64(tc.img.Size), tc.id)
			if tc.errWant != "" {
				if err == nil || !errors.Is(err, bootcheck.ErrUnreadable) || !strings.Contains(err.Error(), tc.errWant) || res.Boots {
					t.Fatalf("CheckVolume = %+v, %v; want an ErrUnreadable error containing %q", res, err, tc.errWant)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Boots != tc.boots || res.Problem("kz1") != tc.problem {
				t.Fatalf("boots %v problem %q; want %v %q", res.Boots, res.Problem("kz1"), tc.boots, tc.problem)
			}
			if res.Pool != "rpool" || res.PoolGUID != 0x1b2c3d4e5f607182 || res.TXG != 4242 || res.Slice != "b" ||
				res.Scheme != "gpt" || res.State != "EXPORTED" || res.ValidLabels != 4 || res.AgreeLabels != 4 ||
				res.Path != "/dev/dsk/c1d0s1" || res.DevID != "id1,kdev@A000_0/b" {
				t.Fatalf("result %+v", res)
			}
		})
	}
}

// TestOpenVolumeSize: the device's size and the volume's volsize must
// agree; the device is never opened for writing.
func TestOpenVolumeSize(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "pool"), 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "pool", "v")
	if err := bootchecktest.Write(p, bootchecktest.Image{Size: 64 * mib, Pools: []bootchecktest.Pool{bootchecktest.KZ1("/zvnex/zvblk@0:b")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := bootcheck.CheckVolume(dir, "pool/v", 32*mib, 0); err == nil || !strings.Contains(err.Error(), "the device holds 67108864 bytes but the volume's volsize is 33554432") {
		t.Fatalf("size disagreement: %v", err)
	}
	if _, err := bootcheck.CheckVolume(dir, "pool/../v", 64*mib, 0); err == nil {
		t.Fatal("a name that climbs out of the directory was read")
	}
	// A device without write permission reads (a non-root reader would
	// fail to open it for writing), and its bytes stay as they were.
	before, _ := os.ReadFile(p)
	if err := os.Chmod(p, 0o444); err != nil {
		t.Fatal(err)
	}
	res, err := bootcheck.CheckVolume(dir, "pool/v", 64*mib, 0)
	if err != nil || !res.Boots {
		t.Fatalf("%+v %v", res, err)
	}
	after, _ := os.ReadFile(p)
	if string(before) != string(after) {
		t.Fatal("the check changed the disk")
	}
}

// TestDeviceReadAtUnaligned: reads at any offset and length come back as
// the bytes there, through whole-sector reads.
func TestDeviceReadAtUnaligned(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "p"), 0o755); err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 4096)
	for i := range data {
		data[i] = byte(i * 7)
	}
	if err := os.WriteFile(filepath.Join(dir, "p", "v"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := bootcheck.OpenVolume(dir, "p/v", 4096)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, c := range []struct{ off, n int }{{0, 1}, {3, 600}, {511, 2}, {4000, 96}, {4000, 200}} {
		buf := make([]byte, c.n)
		n, err := d.ReadAt(buf, int64(c.off))
		want := data[c.off:min(c.off+c.n, 4096)]
		if n != len(want) || string(buf[:n]) != string(want) || (n < c.n) != (err != nil) {
			t.Fatalf("ReadAt(%d, %d) = %d, %v", c.off, c.n, n, err)
		}
	}
}
