package bootdisk

import (
	"bytes"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
)

func kzConfig() *Config {
	return &Config{
		Name: "rpool", PoolGUID: 0x1234567890abcdef, TXG: 4242, Version: 37, State: 1,
		HostID: 0x8a0c3b11, HasHostID: true, Hostname: "kz1", TopGUID: 77, GUID: 77,
		Tree: &Vdev{Type: "disk", GUID: 77, Path: "/dev/dsk/c1d0s1", DevID: "id1,kdev@A000_0/b", PhysPath: "/zvnex/zvblk@0:b"},
	}
}

// sameConfig compares what a Config says, not its Raw nvlist.
func sameConfig(t *testing.T, got, want *Config) {
	t.Helper()
	g, w := *got, *want
	g.Raw, w.Raw = nil, nil
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("config\n got %+v tree %+v\nwant %+v tree %+v", g, g.Tree, w, w.Tree)
	}
}

// reader(writer(x)) == x, for each scheme and size.
func TestWriteImageRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		scheme Scheme
		size   int64
	}{{SchemeGPT, MinImageSize}, {SchemeGPT, 80 << 20}, {SchemeVTOC8, 16 << 20}, {SchemeVTOC16, 16 << 20}} {
		t.Run(string(tc.scheme)+"-"+itoa(int(tc.size>>20))+"M", func(t *testing.T) {
			d := &sparseDisk{size: tc.size}
			want := kzConfig()
			sl, err := WriteImage(d, Image{Size: tc.size, Scheme: tc.scheme, Config: want})
			if err != nil {
				t.Fatal(err)
			}
			disk, err := ReadDisk(d, d.size)
			if err != nil {
				t.Fatal(err)
			}
			if disk.Table.Scheme != tc.scheme {
				t.Fatalf("scheme %s", disk.Table.Scheme)
			}
			p, err := disk.Pool()
			if err != nil {
				t.Fatal(err)
			}
			if p.Slice.Minor != "b" || p.Slice.Start != sl.Start || p.Slice.Size != sl.Size {
				t.Fatalf("read slice %+v, written %+v", p.Slice, sl)
			}
			if len(p.Labels.Agree) != 4 {
				t.Fatalf("agree %v", p.Labels.Agree)
			}
			got, _ := p.Labels.Config()
			sameConfig(t, got, want)
		})
	}
}

// The encoder reproduces zfs-fuse's packed labels byte for byte, sizes
// included.
func TestEncodeXDRReproducesZfsFuse(t *testing.T) {
	for _, f := range []string{goldenNvlist, goldenMirrorNvlist} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		l, n, err := DecodeXDR(b)
		if err != nil || n != len(b) {
			t.Fatalf("%s: %d of %d, %v", f, n, len(b), err)
		}
		enc, err := EncodeXDR(l)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(enc, b) {
			i := 0
			for i < len(enc) && i < len(b) && enc[i] == b[i] {
				i++
			}
			t.Fatalf("%s: encoded %d bytes, zfs-fuse %d; first difference at byte %d", f, len(enc), len(b), i)
		}
	}
}

func names(l *Nvlist) []string {
	var out []string
	for _, p := range l.Pairs {
		if p.Name != "phys_path" && p.Name != "devid" {
			out = append(out, p.Name)
		}
	}
	return out
}

// The writer's labels have zfs-fuse's fields in zfs-fuse's order (plus
// phys_path and devid, which a Solaris host writes and zfs-fuse on a loop
// device does not).
func TestWriterLooksLikeZfsFuse(t *testing.T) {
	for _, tc := range []struct {
		seed string
		tree *Vdev
	}{
		{goldenNvlist, kzConfig().Tree},
		{goldenMirrorNvlist, &Vdev{Type: "mirror", GUID: 77, Children: []*Vdev{
			{Type: "disk", GUID: 1, Path: "/dev/dsk/c1d0s1", PhysPath: "/zvnex/zvblk@0:b"},
			{Type: "disk", ID: 1, GUID: 2, Path: "/dev/dsk/c1d1s1", PhysPath: "/zvnex/zvblk@1:b"}}}},
	} {
		b, _ := os.ReadFile(tc.seed)
		real, _, err := DecodeXDR(b)
		if err != nil {
			t.Fatal(err)
		}
		c := kzConfig()
		c.Tree = tc.tree
		packed, err := EncodeConfig(c, 1<<30)
		if err != nil {
			t.Fatal(err)
		}
		ours, _, err := DecodeXDR(packed)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(names(ours), names(real)) {
			t.Fatalf("%s: top-level names\n ours %v\n real %v", tc.seed, names(ours), names(real))
		}
		ot, _ := ours.List("vdev_tree")
		rt, _ := real.List("vdev_tree")
		if !reflect.DeepEqual(names(ot), names(rt)) {
			t.Fatalf("%s: vdev_tree names\n ours %v\n real %v", tc.seed, names(ot), names(rt))
		}
		if ok, _ := ot.Lists("children"); ok != nil {
			rk, _ := rt.Lists("children")
			if !reflect.DeepEqual(names(ok[0]), names(rk[0])) {
				t.Fatalf("%s: leaf names\n ours %v\n real %v", tc.seed, names(ok[0]), names(rk[0]))
			}
		}
	}
}

// A rewrite in place (as a zpool import in the global zone does to a
// kernel zone's root disk) changes what every label says.
func TestRewriteLabels(t *testing.T) {
	d := &sparseDisk{size: 16 << 20}
	c := kzConfig()
	if _, err := WriteImage(d, Image{Size: d.size, Config: c}); err != nil {
		t.Fatal(err)
	}
	imported := *c
	leaf := *c.Tree
	leaf.PhysPath = "/scsi_vhci/disk@g600144f0a613c900000054521d550001:b"
	leaf.Path = "/dev/dsk/c0t600144F0A613C900000054521D550001d0s1"
	imported.Tree, imported.Hostname, imported.HostID, imported.TXG, imported.State = &leaf, "gz1", 0x1111, c.TXG+7, 0
	if err := RewriteLabels(d, d.size, &imported); err != nil {
		t.Fatal(err)
	}
	disk, err := ReadDisk(d, d.size)
	if err != nil {
		t.Fatal(err)
	}
	p, err := disk.Pool()
	if err != nil {
		t.Fatal(err)
	}
	got, _ := p.Labels.Config()
	sameConfig(t, got, &imported)
	if len(p.Labels.Agree) != 4 {
		t.Fatalf("agree %v", p.Labels.Agree)
	}

	// And on the disk zfs-fuse labelled: the slice is found by reading.
	golden, _ := goldenDisk(t)
	if err := RewriteLabels(golden, int64(len(golden)), &imported); err != nil {
		t.Fatal(err)
	}
	disk, err = ReadDisk(golden, int64(len(golden)))
	if err != nil {
		t.Fatal(err)
	}
	if p, err = disk.Pool(); err != nil || p.Slice.Minor != "b" {
		t.Fatalf("%v %+v", err, p)
	}
	got, _ = p.Labels.Config()
	sameConfig(t, got, &imported)
}

func TestWriteImageRefuses(t *testing.T) {
	big := kzConfig()
	big.Hostname = strings.Repeat("h", MaxString+1)
	wide := kzConfig()
	wide.Tree = &Vdev{Type: "mirror", GUID: 1}
	for i := 0; i < 200; i++ {
		wide.Tree.Children = append(wide.Tree.Children, &Vdev{Type: "disk", GUID: uint64(i), Path: strings.Repeat("p", 1000)})
	}
	huge := kzConfig()
	for i := 0; i < 8; i++ {
		huge.Tree = &Vdev{Type: "mirror", GUID: 1, Children: []*Vdev{huge.Tree}}
	}
	for _, tc := range []struct {
		name string
		img  Image
		want error
	}{
		{"small", Image{Size: MinImageSize - 1, Config: kzConfig()}, ErrImage},
		{"no config", Image{Size: MinImageSize}, ErrImage},
		{"scheme", Image{Size: MinImageSize, Scheme: "mbr", Config: kzConfig()}, ErrImage},
		{"vtoc too big", Image{Size: MaxVTOCImageSize + 512, Scheme: SchemeVTOC8, Config: kzConfig()}, ErrImage},
		{"guid", Image{Size: MinImageSize, DiskGUID: "nope", Config: kzConfig()}, ErrImage},
		{"no tree", Image{Size: MinImageSize, Config: &Config{Name: "x"}}, ErrImage},
		{"deep tree", Image{Size: MinImageSize, Config: huge}, ErrImage},
		{"hostname over the string bound", Image{Size: MinImageSize, Config: big}, ErrNvlist},
		{"config over a label", Image{Size: MinImageSize, Config: wide}, ErrImage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := WriteImage(&sparseDisk{size: max(tc.img.Size, 0)}, tc.img); !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
		})
	}
}
