// Package uploads is the server's built-in file drop for stations: log and diagnostics files
// that a station was asked for arrive here by HTTP PUT or POST (raw body or multipart form) at a
// single-use URL signed with a server secret. The signature, the expiry and the single use are
// checked; the file is kept on local disk under a configurable directory, with a size limit.
// It imports the domain and the standard library.
package uploads

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
)

// DefaultMaxBytes is the default size limit of one upload.
const DefaultMaxBytes = 64 << 20

// Config holds the upload endpoint's settings.
type Config struct {
	// Dir is where files are kept (created if missing).
	Dir string
	// MaxBytes is the largest file accepted (default DefaultMaxBytes); bigger ones get 413.
	MaxBytes int64
	Now      func() time.Time
	Log      *slog.Logger
}

// Store is what the endpoint needs of the store.
type Store interface {
	LogRequestByUpload(ctx context.Context, uploadID string) (domain.LogRequest, error)
	FinishUpload(ctx context.Context, uploadID, fileName, filePath string, size int64, at time.Time) (domain.LogRequest, error)
}

// Box signs upload URLs and receives the files.
type Box struct {
	cfg    Config
	secret []byte
	store  Store
}

// New returns the endpoint. secret signs the URLs: every process that serves the same database
// must use the same one (the server keeps it in the database).
func New(cfg Config, secret []byte, store Store) (*Box, error) {
	if cfg.Dir == "" {
		return nil, errors.New("uploads: no directory given")
	}
	if len(secret) < 16 {
		return nil, errors.New("uploads: the signing secret is too short")
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(filepath.Join(cfg.Dir, "logs"), 0o750); err != nil {
		return nil, fmt.Errorf("uploads: %w", err)
	}
	return &Box{cfg: cfg, secret: secret, store: store}, nil
}

// NewSecret returns a fresh random signing secret.
func NewSecret() ([]byte, error) {
	b := make([]byte, 32)
	_, err := rand.Read(b)
	return b, err
}

// sign is the signature of one upload slot and its expiry.
func (b *Box) sign(uploadID string, exp int64) string {
	m := hmac.New(sha256.New, b.secret)
	fmt.Fprintf(m, "upload\n%s\n%d", uploadID, exp)
	return hex.EncodeToString(m.Sum(nil))
}

// UploadURL is the URL a station uploads to: base (the server as stations reach it, such as
// http://cpms.example.com:8080) + /uploads/{uploadId}?exp=…&sig=….
func (b *Box) UploadURL(base, uploadID string, expires time.Time) string {
	exp := expires.Unix()
	q := url.Values{"exp": {strconv.FormatInt(exp, 10)}, "sig": {b.sign(uploadID, exp)}}
	return strings.TrimRight(base, "/") + "/uploads/" + url.PathEscape(uploadID) + "?" + q.Encode()
}

// Register adds the routes stations use: PUT and POST on /uploads/{uploadId}, and with a file
// name appended (/uploads/{uploadId}/{name}), as some stations add their file name to the
// location; GET /firmware/{name} for firmware images.
func (b *Box) Register(mux *http.ServeMux) {
	for _, m := range []string{"PUT", "POST"} {
		mux.HandleFunc(m+" /uploads/{uploadId}", b.receive)
		mux.HandleFunc(m+" /uploads/{uploadId}/{name}", b.receive)
	}
	mux.HandleFunc("GET /firmware/{name}", b.serveFirmware)
}

type uploadError struct {
	status int
	code   string
	msg    string
}

func (b *Box) receive(w http.ResponseWriter, r *http.Request) {
	l, err := b.accept(w, r)
	if err != nil {
		var ue *uploadError
		if !errors.As(err, &ue) {
			b.cfg.Log.ErrorContext(r.Context(), "uploads: upload failed", "err", err)
			ue = &uploadError{http.StatusInternalServerError, "internal", "internal error"}
		}
		writeJSON(w, ue.status, map[string]any{"error": map[string]string{"code": ue.code, "message": ue.msg}})
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": strconv.FormatInt(l.ID, 10), "fileName": l.FileName, "size": l.FileSize})
}

func (e *uploadError) Error() string { return e.msg }

var errForbidden = &uploadError{http.StatusForbidden, "forbidden", "the upload URL is invalid or has expired"}

// accept checks the URL, stores the body and records it.
func (b *Box) accept(w http.ResponseWriter, r *http.Request) (domain.LogRequest, error) {
	uploadID := r.PathValue("uploadId")
	exp, err := strconv.ParseInt(r.URL.Query().Get("exp"), 10, 64)
	sig, _ := hex.DecodeString(r.URL.Query().Get("sig"))
	want, _ := hex.DecodeString(b.sign(uploadID, exp))
	now := b.cfg.Now()
	if err != nil || !hmac.Equal(sig, want) || now.Unix() > exp {
		return domain.LogRequest{}, errForbidden
	}
	l, err := b.store.LogRequestByUpload(r.Context(), uploadID)
	switch {
	case errors.Is(err, domain.ErrNotFound):
		return domain.LogRequest{}, &uploadError{http.StatusNotFound, "not_found", "no such upload"}
	case err != nil:
		return domain.LogRequest{}, err
	case !l.ReceivedAt.IsZero():
		return domain.LogRequest{}, &uploadError{http.StatusConflict, "conflict", "the upload URL was already used"}
	case now.After(l.UploadExpiresAt):
		return domain.LogRequest{}, errForbidden
	}
	if r.ContentLength > b.cfg.MaxBytes {
		return domain.LogRequest{}, tooLarge(b.cfg.MaxBytes)
	}
	body := http.MaxBytesReader(w, r.Body, b.cfg.MaxBytes+64<<10) // room for multipart framing
	src, name, err := fileOf(r, body)
	if err != nil {
		return domain.LogRequest{}, err
	}
	if name == "" {
		name = r.PathValue("name")
	}
	name = safeName(name, l)
	tmp, err := os.CreateTemp(filepath.Join(b.cfg.Dir, "logs"), fmt.Sprintf("%d-*-%s", l.ID, name))
	if err != nil {
		return domain.LogRequest{}, err
	}
	keep := false
	defer func() {
		if !keep {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	n, err := io.Copy(tmp, io.LimitReader(src, b.cfg.MaxBytes+1))
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &maxErr), n > b.cfg.MaxBytes:
		return domain.LogRequest{}, tooLarge(b.cfg.MaxBytes)
	case err != nil:
		return domain.LogRequest{}, &uploadError{http.StatusBadRequest, "invalid_request", "the upload was cut off"}
	}
	if err := tmp.Sync(); err != nil {
		return domain.LogRequest{}, err
	}
	if err := tmp.Close(); err != nil {
		return domain.LogRequest{}, err
	}
	rel, err := filepath.Rel(b.cfg.Dir, tmp.Name())
	if err != nil {
		return domain.LogRequest{}, err
	}
	done, err := b.store.FinishUpload(r.Context(), uploadID, name, filepath.ToSlash(rel), n, now)
	switch {
	case errors.Is(err, domain.ErrConflict):
		return domain.LogRequest{}, &uploadError{http.StatusConflict, "conflict", "the upload URL was already used"}
	case err != nil:
		return domain.LogRequest{}, err
	}
	keep = true
	return done, nil
}

func tooLarge(limit int64) error {
	return &uploadError{http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the file is larger than %d bytes", limit)}
}

// fileOf returns the uploaded file: the first file part of a multipart form, else the body.
func fileOf(r *http.Request, body io.Reader) (io.Reader, string, error) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mt, "multipart/") {
		name := ""
		if _, p, err := mime.ParseMediaType(r.Header.Get("Content-Disposition")); err == nil {
			name = p["filename"]
		}
		return body, name, nil
	}
	mr := multipart.NewReader(body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err != nil {
			var maxErr *http.MaxBytesError
			if errors.As(err, &maxErr) {
				return nil, "", &uploadError{http.StatusRequestEntityTooLarge, "too_large", "the file is too large"}
			}
			return nil, "", &uploadError{http.StatusBadRequest, "invalid_request", "the multipart form holds no file"}
		}
		if part.FileName() != "" || part.FormName() == "file" {
			return part, part.FileName(), nil
		}
	}
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// safeName keeps a station's file name fit for a path: base name only, plain characters.
func safeName(name string, l domain.LogRequest) string {
	name = unsafeChars.ReplaceAllString(filepath.Base(name), "_")
	name = strings.TrimLeft(name, ".")
	if len(name) > 100 {
		name = name[len(name)-100:]
	}
	if name == "" || name == "_" {
		name = fmt.Sprintf("%s-%d.log", l.Type, l.ID)
	}
	return name
}

// Open opens the stored file of a request; ErrNotFound when none arrived.
func (b *Box) Open(l domain.LogRequest) (*os.File, error) {
	if l.FilePath == "" {
		return nil, domain.Errorf(domain.ErrNotFound, "log request %d has no file yet", l.ID)
	}
	f, err := os.Open(filepath.Join(b.cfg.Dir, filepath.FromSlash(l.FilePath)))
	if errors.Is(err, os.ErrNotExist) {
		return nil, domain.Errorf(domain.ErrNotFound, "the file of log request %d is gone from the data directory", l.ID)
	}
	return f, err
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
