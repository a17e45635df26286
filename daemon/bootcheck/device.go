package bootcheck

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/volctl/volctl/internal/zfsname"
)

// DefaultZvolDeviceDir is where Solaris and illumos put a volume's raw
// device: /dev/zvol/rdsk/POOL/VOL (docs/platform/kz-boot-path.md §3).
const DefaultZvolDeviceDir = "/dev/zvol/rdsk"

// sector is the unit every read of the device is made in: a raw disk
// device transfers whole sectors ([UNV] for a zvol's raw device; aligned
// reads are right on any of them).
const sector = 512

// Device is a volume's raw device, open read-only, with its size.
type Device struct {
	Path string
	Size int64
	f    *os.File
}

// DevicePath is the raw device of volume under dir. The volume must be a
// valid ZFS dataset name (so it cannot climb out of dir).
func DevicePath(dir, volume string) (string, error) {
	if err := zfsname.ValidateDatasetName(volume); err != nil {
		return "", err
	}
	if !filepath.IsAbs(dir) {
		return "", fmt.Errorf("zvol device directory %q is not absolute", dir)
	}
	return filepath.Join(dir, volume), nil
}

// OpenVolume opens volume's raw device under dir read-only (O_RDONLY:
// the check never writes) and sizes it. volsize is the volume's size as
// zfs reports it. The size read from the device must be volsize; a device
// that reports no size (0: a character device whose size the platform
// does not give through lseek, [UNV] for Solaris's zvol) is taken at
// volsize only once its last sector reads whole. Any other disagreement is
// refused: the reader's bounds come from this size.
func OpenVolume(dir, volume string, volsize uint64) (*Device, error) {
	p, err := DevicePath(dir, volume)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnreadable, err)
	}
	f, err := os.OpenFile(p, os.O_RDONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: open %s read-only: %w", ErrUnreadable, p, err)
	}
	d := &Device{Path: p, f: f}
	if err := d.size(volsize); err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: %s: %w", ErrUnreadable, p, err)
	}
	return d, nil
}

func (d *Device) size(volsize uint64) error {
	fi, err := d.f.Stat()
	if err != nil {
		return err
	}
	m := fi.Mode()
	if !m.IsRegular() && m&os.ModeCharDevice == 0 && m&os.ModeDevice == 0 {
		return fmt.Errorf("not a device or an image file (%s)", m.Type())
	}
	if volsize == 0 || volsize%sector != 0 || volsize > 1<<62 {
		return fmt.Errorf("volsize %d is not a size volctl can read a disk of", volsize)
	}
	end, err := d.f.Seek(0, io.SeekEnd)
	if err != nil {
		return fmt.Errorf("size: %w", err)
	}
	switch {
	case end == int64(volsize):
	case end == 0 && m&os.ModeDevice != 0:
		buf := make([]byte, sector)
		if _, err := d.f.ReadAt(buf, int64(volsize)-sector); err != nil {
			return fmt.Errorf("the device reports no size and its last sector at volsize %d does not read: %w", volsize, err)
		}
	default:
		return fmt.Errorf("the device holds %d bytes but the volume's volsize is %d: refusing to read a disk whose size is not certain", end, volsize)
	}
	d.Size = int64(volsize)
	return nil
}

// Close closes the device.
func (d *Device) Close() error { return d.f.Close() }

// ReadAt reads whole sectors of the device and copies what was asked for;
// nothing past Size is read.
func (d *Device) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off >= d.Size {
		return 0, io.EOF
	}
	end := min(off+int64(len(p)), d.Size)
	lo := off &^ (sector - 1)
	hi := min((end+sector-1)&^(sector-1), d.Size)
	buf := make([]byte, hi-lo)
	n, err := d.f.ReadAt(buf, lo)
	if int64(n) < end-lo {
		// The device ended (or failed) before Size: what it gave of
		// p, and the error.
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		c := 0
		if int64(n) > off-lo {
			c = copy(p, buf[off-lo:n])
		}
		return c, err
	}
	c := copy(p, buf[off-lo:end-lo])
	if c < len(p) {
		return c, io.EOF
	}
	return c, nil
}

// CheckVolume reads volume's boot disk label under dir (read-only) and
// checks it for device id: the one call for "will this disk boot a kernel
// zone as device id" (the check-boot command, the rollback's check-boot
// step, and the rescue's check after its repair).
func CheckVolume(dir, volume string, volsize uint64, id int) (Result, error) {
	d, err := OpenVolume(dir, volume, volsize)
	if err != nil {
		return Result{DeviceID: id}, err
	}
	defer d.Close()
	res, err := Check(d, d.Size, id)
	if err != nil {
		return res, fmt.Errorf("%s (%s): %w", volume, d.Path, err)
	}
	return res, nil
}
