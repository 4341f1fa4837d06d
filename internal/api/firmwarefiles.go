package api

import (
	"io"
	"net/http"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
)

// FirmwareFiles keeps firmware images that OpenCPO serves to stations (implemented by
// uploads.Box).
type FirmwareFiles interface {
	PutFirmware(name string, r io.Reader) (domain.FirmwareFile, bool, error)
	Firmware() ([]domain.FirmwareFile, error)
	DeleteFirmware(name string) error
	FirmwareURL(base, name string) string
}

type firmwareFileJSON struct {
	Name      string    `json:"name"`
	Size      int64     `json:"size"`
	SHA256    string    `json:"sha256,omitempty"`
	URL       string    `json:"url"`
	UpdatedAt time.Time `json:"updatedAt"`
}

func (s *Server) firmwareFiles() (FirmwareFiles, error) {
	if s.cfg.FirmwareFiles == nil {
		return nil, domain.Errorf(domain.ErrNotFound, "firmware hosting is not configured on this server")
	}
	return s.cfg.FirmwareFiles, nil
}

// putFirmware stores a firmware image (the raw body): 201 new, 200 replaced. Its url is what a
// campaign's firmwareUrl should be.
func (s *Server) putFirmware(w http.ResponseWriter, r *http.Request) error {
	ff, err := s.firmwareFiles()
	if err != nil {
		return err
	}
	f, created, err := ff.PutFirmware(r.PathValue("name"), r.Body)
	if err != nil {
		return err
	}
	s.auditChange(r.Context(), "", "PutFirmware", map[string]any{"name": f.Name, "size": f.Size, "sha256": f.SHA256})
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, firmwareFileJSON{Name: f.Name, Size: f.Size, SHA256: f.SHA256, URL: ff.FirmwareURL(s.publicBase(r), f.Name), UpdatedAt: f.UpdatedAt})
	return nil
}

func (s *Server) listFirmware(w http.ResponseWriter, r *http.Request) error {
	ff, err := s.firmwareFiles()
	if err != nil {
		return err
	}
	files, err := ff.Firmware()
	if err != nil {
		return err
	}
	out := listResponse[firmwareFileJSON]{Items: make([]firmwareFileJSON, 0, len(files))}
	for _, f := range files {
		out.Items = append(out.Items, firmwareFileJSON{Name: f.Name, Size: f.Size, URL: ff.FirmwareURL(s.publicBase(r), f.Name), UpdatedAt: f.UpdatedAt})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) deleteFirmware(w http.ResponseWriter, r *http.Request) error {
	ff, err := s.firmwareFiles()
	if err != nil {
		return err
	}
	if err := ff.DeleteFirmware(r.PathValue("name")); err != nil {
		return err
	}
	s.auditChange(r.Context(), "", "DeleteFirmware", map[string]any{"name": r.PathValue("name")})
	w.WriteHeader(http.StatusNoContent)
	return nil
}
