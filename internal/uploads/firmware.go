package uploads

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/opencpo/opencpo/internal/domain"
)

// Firmware images operators upload to OpenCPO are kept under Dir/firmware and served to
// stations at /firmware/{name} without credentials: chargers download firmware from a plain URL,
// and an image is no secret (a signed update carries its own signature).

// MaxFirmwareBytes is the largest firmware image accepted.
const MaxFirmwareBytes = 512 << 20

var firmwareName = regexp.MustCompile(`^[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}$`)

func (b *Box) firmwareDir() string { return filepath.Join(b.cfg.Dir, "firmware") }

func checkFirmwareName(name string) error {
	if !firmwareName.MatchString(name) {
		return domain.Errorf(domain.ErrInvalid, "a firmware name is 1 to 100 characters of A-Z a-z 0-9 . _ - and does not start with a dot")
	}
	return nil
}

// PutFirmware stores an image under name, replacing one of the same name; created tells which.
// The image is complete on disk before it replaces the old one.
func (b *Box) PutFirmware(name string, r io.Reader) (f domain.FirmwareFile, created bool, err error) {
	if err := checkFirmwareName(name); err != nil {
		return domain.FirmwareFile{}, false, err
	}
	if err := os.MkdirAll(b.firmwareDir(), 0o750); err != nil {
		return domain.FirmwareFile{}, false, err
	}
	tmp, err := os.CreateTemp(b.firmwareDir(), ".upload-*")
	if err != nil {
		return domain.FirmwareFile{}, false, err
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(r, MaxFirmwareBytes+1))
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &maxErr) || n > MaxFirmwareBytes:
		return domain.FirmwareFile{}, false, domain.Errorf(domain.ErrInvalid, "the image is larger than %d bytes", MaxFirmwareBytes)
	case err != nil:
		return domain.FirmwareFile{}, false, domain.Errorf(domain.ErrInvalid, "the upload was cut off")
	case n == 0:
		return domain.FirmwareFile{}, false, domain.Errorf(domain.ErrInvalid, "the image is empty")
	}
	if err = tmp.Sync(); err != nil {
		return domain.FirmwareFile{}, false, err
	}
	if err = tmp.Close(); err != nil {
		return domain.FirmwareFile{}, false, err
	}
	dst := filepath.Join(b.firmwareDir(), name)
	_, statErr := os.Stat(dst)
	if err = os.Rename(tmp.Name(), dst); err != nil {
		return domain.FirmwareFile{}, false, err
	}
	return domain.FirmwareFile{Name: name, Size: n, SHA256: hex.EncodeToString(h.Sum(nil)), UpdatedAt: b.cfg.Now().UTC()},
		errors.Is(statErr, os.ErrNotExist), nil
}

// Firmware lists the stored images by name.
func (b *Box) Firmware() ([]domain.FirmwareFile, error) {
	entries, err := os.ReadDir(b.firmwareDir())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []domain.FirmwareFile
	for _, e := range entries {
		if !e.Type().IsRegular() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		out = append(out, domain.FirmwareFile{Name: e.Name(), Size: info.Size(), UpdatedAt: info.ModTime().UTC()})
	}
	slices.SortFunc(out, func(a, b domain.FirmwareFile) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// DeleteFirmware removes an image; ErrNotFound if there is none of that name.
func (b *Box) DeleteFirmware(name string) error {
	if err := checkFirmwareName(name); err != nil {
		return domain.Errorf(domain.ErrNotFound, "no firmware %q", name)
	}
	err := os.Remove(filepath.Join(b.firmwareDir(), name))
	if errors.Is(err, os.ErrNotExist) {
		return domain.Errorf(domain.ErrNotFound, "no firmware %q", name)
	}
	return err
}

// FirmwareURL is where stations download an image: base + /firmware/{name}.
func (b *Box) FirmwareURL(base, name string) string {
	return strings.TrimRight(base, "/") + "/firmware/" + name
}

// serveFirmware answers GET /firmware/{name} (Range requests included, for resumed downloads).
func (b *Box) serveFirmware(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if checkFirmwareName(name) != nil {
		http.NotFound(w, r)
		return
	}
	f, err := os.Open(filepath.Join(b.firmwareDir(), name))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	http.ServeContent(w, r, name, info.ModTime(), f)
}
