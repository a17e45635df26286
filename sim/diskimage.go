package sim

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/volctl/volctl/internal/bootdisk"
)

// Each labelled volume is also a disk image file at
// ROOT/dev/zvol/rdsk/POOL/VOL (docs/platform/kz-boot.md §7): a sparse
// disk of the volume's volsize (as a zvol's raw device is, so volctld's
// check of the device's size against volsize holds) with a GPT, the root pool in slice 1 (minor b) and
// its four vdev labels, written by internal/bootdisk, so that volctld reads
// it as it reads a real zvol's raw device. The files are brought in line
// with the state each time the state is written (writeState): a volume
// whose label changed is rewritten, one that lost its label, was destroyed
// or renamed loses its file. ROOT/dev/zvol/.images.json lists the files the
// simulator wrote and what they hold, so it never touches a file it did
// not write.

// ImageSize is the size of a boot disk image of a volume without a
// volsize that can hold one (sparse: about 1 MB is written).
const ImageSize = bootdisk.MinImageSize

// imageSize is a volume's image size: its volsize, at least ImageSize.
func imageSize(d *Dataset) int64 { return max(d.Volsize, ImageSize) }

// poolVersion is the SPA version the labels carry (Solaris 11.4's pools
// are version 44 [UNV: kz-boot.md §7]).
const poolVersion = 44

// ImagePath is where the simulator keeps a volume's disk image.
func ImagePath(root, vol string) string {
	return filepath.Join(root, "dev", "zvol", "rdsk", filepath.FromSlash(vol))
}

func imageIndexPath(root string) string { return filepath.Join(root, "dev", "zvol", ".images.json") }

// LabelConfig is the bootdisk config the label stands for.
func (l *BootLabel) LabelConfig() *bootdisk.Config {
	state := uint64(0) // POOL_STATE_ACTIVE
	if l.State == PoolExported {
		state = 1
	}
	return &bootdisk.Config{
		Name: l.Pool, PoolGUID: l.PoolGUID, TXG: l.TXG, Version: poolVersion, State: state,
		HostID: l.HostID, HasHostID: true, Hostname: l.Hostname,
		TopGUID: l.Vdev.GUID, GUID: l.Vdev.GUID,
		Tree: &bootdisk.Vdev{Type: "disk", GUID: l.Vdev.GUID, Path: l.Vdev.Path, PhysPath: l.Vdev.PhysPath, DevID: l.Vdev.DevID},
	}
}

func labelKey(l *BootLabel) string {
	b, _ := json.Marshal(l.LabelConfig())
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// imageKey is what a volume's image is made of.
type imageKey struct {
	label BootLabel
	size  int64
}

// imageKeys are the images s calls for, by volume: a command whose
// imageKeys did not change need not sync the images (runPlatform).
func imageKeys(s *State) map[string]imageKey {
	var m map[string]imageKey
	for _, d := range s.Datasets {
		if d.Type == "volume" && d.Label != nil {
			if m == nil {
				m = map[string]imageKey{}
			}
			m[d.Name] = imageKey{*d.Label, imageSize(d)}
		}
	}
	return m
}

// syncImages brings ROOT's image files in line with s.
func syncImages(root string, s *State) error {
	idx := map[string]string{}
	b, err := os.ReadFile(imageIndexPath(root))
	switch {
	case err == nil:
		if err := json.Unmarshal(b, &idx); err != nil {
			return fmt.Errorf("images: %s: %w", imageIndexPath(root), err)
		}
	case !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("images: %w", err)
	}
	want := map[string]*BootLabel{}
	size := map[string]int64{}
	for _, d := range s.Datasets {
		if d.Type == "volume" && d.Label != nil {
			want[d.Name] = d.Label
			size[d.Name] = imageSize(d)
		}
	}
	if len(want) == 0 && len(idx) == 0 {
		return nil
	}
	changed := false
	for _, vol := range sortedKeys(idx) {
		if _, ok := want[vol]; !ok {
			if err := os.Remove(ImagePath(root, vol)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("images: %w", err)
			}
			delete(idx, vol)
			changed = true
		}
	}
	vols := make([]string, 0, len(want))
	for v := range want {
		vols = append(vols, v)
	}
	sort.Strings(vols)
	for _, vol := range vols {
		key := fmt.Sprintf("%s %d", labelKey(want[vol]), size[vol])
		if _, err := os.Stat(ImagePath(root, vol)); idx[vol] == key && err == nil {
			continue
		}
		if err := writeImage(ImagePath(root, vol), want[vol], size[vol]); err != nil {
			return fmt.Errorf("images: %s: %w", vol, err)
		}
		idx[vol] = key
		changed = true
	}
	if !changed {
		return nil
	}
	out, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return fmt.Errorf("images: %w", err)
	}
	return replaceFile(imageIndexPath(root), append(out, '\n'))
}

// writeImage writes a fresh image to a temporary file and renames it into
// place, so a reader never sees half an image.
func writeImage(path string, l *BootLabel, size int64) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".image-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return err
	}
	if _, err := bootdisk.WriteImage(f, bootdisk.Image{Size: size, Config: l.LabelConfig()}); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

func replaceFile(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".index-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
