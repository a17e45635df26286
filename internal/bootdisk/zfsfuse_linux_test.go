//go:build linux

package bootdisk

import (
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The reader against labels written by real ZFS code: zfs-fuse (the same
// one the Linux end-to-end tests use) creates a pool in slice b of a
// GPT-labelled disk image, through a loop device over that slice, and the
// reader's view of the image must print exactly as `zdb -l` prints the
// slice. Root only; VOLCTL_BOOTDISK_GOLDEN=1 also rewrites the committed
// image and zdb output in testdata/ that TestGoldenZfsFuseGPT reads
// without root.

const (
	zfsFuseBin = "/usr/sbin/zfs-fuse"
	zpoolBin   = "/usr/sbin/zpool"
	zdbBin     = "/usr/sbin/zdb"
	losetupBin = "/usr/sbin/losetup"
	// stackLock is the lock internal/linuxstack takes: one zfs-fuse per
	// host, so test binaries that start one take turns.
	stackLock = "/run/lock/volctl-linuxstack.lock"
)

func TestZfsFuseGPT(t *testing.T) {
	needZfsFuse(t)
	f, loop := gptImage(t, filepath.Join(t.TempDir(), "disk.img"), "0b00d15c-0000-4000-8000-00000000b001")
	p := goldenParts[1]
	start, size := int64(p.first)*512, int64(p.end-p.first+1)*512
	pool := "blgpt" + strconv.Itoa(os.Getpid()%100000)
	runT(t, zpoolBin, "create", "-o", "cachefile=none", pool, loop)
	runT(t, zpoolBin, "export", pool)
	want := runT(t, zdbBin, "-l", loop)

	d, err := ReadDisk(f, goldenSize)
	if err != nil {
		t.Fatal(err)
	}
	sl, err := d.Pool()
	if err != nil {
		t.Fatal(err)
	}
	if sl.Slice.Minor != "b" || sl.Slice.Start != start || sl.Slice.Size != size {
		t.Fatalf("pool slice %+v, want b at %d, %d bytes", sl.Slice, start, size)
	}
	if got := zdbDump(sl.Labels); got != want {
		t.Fatalf("reader and zdb -l %s differ:\n--- reader\n%s\n--- zdb -l\n%s", loop, got, want)
	}
	c, _ := sl.Labels.Config()
	if c.Name != pool || c.Tree.Path != loop || len(sl.Labels.Agree) != 4 {
		t.Fatalf("config %+v, tree %+v, agree %v", c, c.Tree, sl.Labels.Agree)
	}
	t.Logf("pool %s guid %d txg %d host %q hostid %#x; leaf %s %s guid %d; labels agree %v",
		c.Name, c.PoolGUID, c.TXG, c.Hostname, c.HostID, c.Tree.Type, c.Tree.Path, c.Tree.GUID, sl.Labels.Agree)
	if os.Getenv("VOLCTL_BOOTDISK_GOLDEN") == "1" {
		writeGolden(t, f.Name(), loop, "testdata/gpt-zfsfuse", want)
	}
}

// gptImage makes an image with the golden disk's GPT and a loop device
// over its slice b.
func gptImage(t *testing.T, path, diskGUID string) (f *os.File, loop string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if err := f.Truncate(goldenSize); err != nil {
		t.Fatal(err)
	}
	writeGPT(f, goldenSize, diskGUID, goldenParts)
	p := goldenParts[1]
	start, size := int64(p.first)*512, int64(p.end-p.first+1)*512
	loop = strings.TrimSpace(runT(t, losetupBin, "--find", "--show", "-o", strconv.FormatInt(start, 10), "--sizelimit", strconv.FormatInt(size, 10), path))
	t.Cleanup(func() { _ = exec.Command(losetupBin, "-d", loop).Run() })
	return f, loop
}

// A two-way mirror over slice b of two disks: the vdev tree zfs-fuse
// writes has a mirror with two leaves (an nvlist array), and each disk's
// labels name itself as "guid".
func TestZfsFuseMirror(t *testing.T) {
	needZfsFuse(t)
	dir := t.TempDir()
	fa, la := gptImage(t, filepath.Join(dir, "a.img"), "0b00d15c-0000-4000-8000-00000000a001")
	fb, lb := gptImage(t, filepath.Join(dir, "b.img"), "0b00d15c-0000-4000-8000-00000000a002")
	pool := "blmir" + strconv.Itoa(os.Getpid()%100000)
	runT(t, zpoolBin, "create", "-o", "cachefile=none", pool, "mirror", la, lb)
	runT(t, zpoolBin, "export", pool)
	for _, c := range []struct {
		f    *os.File
		loop string
	}{{fa, la}, {fb, lb}} {
		want := runT(t, zdbBin, "-l", c.loop)
		d, err := ReadDisk(c.f, goldenSize)
		if err != nil {
			t.Fatal(err)
		}
		sl, err := d.Pool()
		if err != nil {
			t.Fatal(err)
		}
		if got := zdbDump(sl.Labels); got != want {
			t.Fatalf("reader and zdb -l %s differ:\n--- reader\n%s\n--- zdb -l\n%s", c.loop, got, want)
		}
		cfg, _ := sl.Labels.Config()
		leaves := cfg.Tree.Leaves()
		if cfg.Tree.Type != "mirror" || len(leaves) != 2 || leaves[0].Path != la || leaves[1].Path != lb || cfg.TopGUID != cfg.Tree.GUID {
			t.Fatalf("tree %+v leaves %+v", cfg.Tree, leaves)
		}
		self := leaves[0]
		if c.loop == lb {
			self = leaves[1]
		}
		if cfg.GUID != self.GUID {
			t.Fatalf("label of %s: guid %d, its leaf %+v", c.loop, cfg.GUID, self)
		}
		if c.loop == la && os.Getenv("VOLCTL_BOOTDISK_GOLDEN") == "1" {
			writeGolden(t, c.f.Name(), la, "testdata/gpt-zfsfuse-mirror", want)
		}
	}
}

// zdb (real ZFS code, libnvpair) reads the labels the writer makes:
// the same dump as the reader's, phys_path and devid included.
func TestZdbReadsWriter(t *testing.T) {
	needZfsFuse(t) // zfs-fuse's zdb will not start without the daemon
	path := filepath.Join(t.TempDir(), "kz.img")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const size = 80 << 20
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	c := kzConfig()
	c.Tree = &Vdev{Type: "mirror", GUID: 77, Children: []*Vdev{
		{Type: "disk", GUID: 1, Path: "/dev/dsk/c1d0s1", DevID: "id1,kdev@A000_0/b", PhysPath: "/zvnex/zvblk@0:b"},
		{Type: "disk", ID: 1, GUID: 2, Path: "/dev/dsk/c1d1s1", PhysPath: "/zvnex/zvblk@1:b"}}}
	c.GUID = 1
	sl, err := WriteImage(f, Image{Size: size, Config: c})
	if err != nil {
		t.Fatal(err)
	}
	loop := strings.TrimSpace(runT(t, losetupBin, "--find", "--show", "-o", strconv.FormatInt(sl.Start, 10), "--sizelimit", strconv.FormatInt(sl.Size, 10), path))
	t.Cleanup(func() { _ = exec.Command(losetupBin, "-d", loop).Run() })
	want := runT(t, zdbBin, "-l", loop)
	d, err := ReadDisk(f, size)
	if err != nil {
		t.Fatal(err)
	}
	p, err := d.Pool()
	if err != nil {
		t.Fatal(err)
	}
	if got := zdbDump(p.Labels); got != want || !strings.Contains(want, "phys_path: '/zvnex/zvblk@0:b'") {
		t.Fatalf("reader and zdb -l differ:\n--- reader\n%s\n--- zdb -l\n%s", got, want)
	}
}

// writeGolden detaches loop and writes the image, compressed, and zdb's
// output under base.
func writeGolden(t *testing.T, img, loop, base, zdb string) {
	t.Helper()
	if err := exec.Command(losetupBin, "-d", loop).Run(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	var z bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
	zw.Write(raw)
	zw.Close()
	if err := os.WriteFile(base+".img.gz", z.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(base+".zdb", []byte(zdb), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s.img.gz (%d bytes)", base, z.Len())
}

func runT(t *testing.T, argv ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v: %s%s", strings.Join(argv, " "), err, errb.String(), out.String())
	}
	return out.String()
}

// needZfsFuse skips without root or the tools (failing instead when
// VOLCTL_E2E_REQUIRED=1, as the other real-stack tests do), then makes
// sure a zfs-fuse answers: the running one, or one started here and
// stopped at the end.
func needZfsFuse(t *testing.T) {
	t.Helper()
	skip := func(why string) {
		msg := "ZFS-FUSE NOT AVAILABLE, real-label test not run: " + why
		if os.Getenv("VOLCTL_E2E_REQUIRED") == "1" {
			t.Fatal(msg + " (VOLCTL_E2E_REQUIRED=1)")
		}
		t.Skip(msg)
	}
	if os.Geteuid() != 0 {
		skip("needs root")
	}
	for _, p := range []string{zfsFuseBin, zpoolBin, zdbBin, losetupBin, "/dev/fuse", "/dev/loop-control"} {
		if _, err := os.Stat(p); err != nil {
			skip(p + " is missing (scripts/linux-deps.sh installs zfs-fuse)")
		}
	}
	lf, err := os.OpenFile(stackLock, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Minute)
	for syscall.Flock(int(lf.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("%s held for 5 minutes", stackLock)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Cleanup(func() { _ = syscall.Flock(int(lf.Fd()), syscall.LOCK_UN); lf.Close() })
	if exec.Command(zpoolBin, "list", "-H").Run() == nil {
		return
	}
	_ = os.MkdirAll("/var/run/zfs", 0o755)
	_ = os.Remove("/var/run/zfs/zfs_socket")
	dir := t.TempDir()
	logf, err := os.Create(filepath.Join(dir, "zfs-fuse.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(zfsFuseBin, "--no-daemon", "--no-kstat-mount", "--pidfile", filepath.Join(dir, "zfs-fuse.pid"))
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	for deadline := time.Now().Add(20 * time.Second); exec.Command(zpoolBin, "list", "-H").Run() != nil; {
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logf.Name())
			t.Fatalf("zfs-fuse did not come up: %s", b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
