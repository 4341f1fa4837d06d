package uploads_test

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
	"github.com/opencpo/opencpo/internal/store/sqlite"
	"github.com/opencpo/opencpo/internal/uploads"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	t     *testing.T
	store *sqlite.Store
	box   *uploads.Box
	srv   *httptest.Server
	clock *clock
}

func newFixture(t *testing.T, maxBytes int64) *fixture {
	t.Helper()
	clk := &clock{t: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)}
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "u.db"), sqlite.Options{Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if err := st.CreateStation(t.Context(), domain.Station{ID: "CP-U", RegistrationStatus: domain.RegistrationAccepted}); err != nil {
		t.Fatal(err)
	}
	box, err := uploads.New(uploads.Config{Dir: t.TempDir(), MaxBytes: maxBytes, Now: clk.now}, bytes.Repeat([]byte("k"), 32), st)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	box.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &fixture{t: t, store: st, box: box, srv: srv, clock: clk}
}

// slot creates a log request and returns it with its signed URL.
func (f *fixture) slot(uploadID string, valid time.Duration) (domain.LogRequest, string) {
	f.t.Helper()
	l, err := f.store.CreateLogRequest(f.t.Context(), domain.LogRequest{StationID: "CP-U", Type: domain.LogDiagnostics,
		Status: domain.LogRequested, UploadID: uploadID, UploadExpiresAt: f.clock.now().Add(valid)})
	if err != nil {
		f.t.Fatal(err)
	}
	return l, f.box.UploadURL(f.srv.URL, uploadID, l.UploadExpiresAt)
}

func send(t *testing.T, method, url, contentType string, body io.Reader) int {
	t.Helper()
	req, _ := http.NewRequest(method, url, body)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func (f *fixture) content(l domain.LogRequest) (domain.LogRequest, string) {
	f.t.Helper()
	l, err := f.store.LogRequest(f.t.Context(), l.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	file, err := f.box.Open(l)
	if err != nil {
		f.t.Fatal(err)
	}
	defer file.Close()
	b, _ := io.ReadAll(file)
	return l, string(b)
}

func TestUploadRawAndMultipart(t *testing.T) {
	f := newFixture(t, 0)
	l, url := f.slot("raw", time.Hour)
	if got := send(t, "PUT", url, "text/plain", strings.NewReader("line 1\nline 2\n")); got != http.StatusCreated {
		t.Fatalf("PUT = %d", got)
	}
	l, body := f.content(l)
	if body != "line 1\nline 2\n" || l.Status != domain.LogReceived || l.FileSize != 14 || l.FileName == "" {
		t.Fatalf("raw upload %+v %q", l, body)
	}
	if got := send(t, "PUT", url, "text/plain", strings.NewReader("again")); got != http.StatusConflict {
		t.Errorf("second use = %d, want 409", got)
	}

	l2, url2 := f.slot("multi", time.Hour)
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("note", "not the file")
	fw, _ := mw.CreateFormFile("file", "../../etc/diag 1.zip")
	_, _ = fw.Write([]byte("zipped"))
	_ = mw.Close()
	if got := send(t, "POST", url2, mw.FormDataContentType(), &buf); got != http.StatusCreated {
		t.Fatalf("POST multipart = %d", got)
	}
	l2, body = f.content(l2)
	if body != "zipped" || l2.FileName != "diag_1.zip" || strings.Contains(l2.FilePath, "..") {
		t.Fatalf("multipart upload %+v %q", l2, body)
	}
	// A file name appended to the location is accepted as the name.
	l3, url3 := f.slot("named", time.Hour)
	named := strings.Replace(url3, "?", "/station.log?", 1)
	if got := send(t, "PUT", named, "", strings.NewReader("x")); got != http.StatusCreated {
		t.Fatalf("PUT with a name = %d", got)
	}
	if l3, _ = f.content(l3); l3.FileName != "station.log" {
		t.Errorf("name %q", l3.FileName)
	}
}

func TestUploadRefusals(t *testing.T) {
	f := newFixture(t, 1024)
	_, url := f.slot("sig", time.Hour)
	for name, bad := range map[string]string{
		"forged signature": strings.Replace(url, "sig=", "sig=ab", 1),
		"no signature":     strings.Split(url, "?")[0],
		"moved expiry":     strings.Replace(url, "exp=", "exp=9", 1),
		"other slot":       strings.Replace(url, "/uploads/sig", "/uploads/sig2", 1),
	} {
		if got := send(t, "PUT", bad, "", strings.NewReader("x")); got != http.StatusForbidden {
			t.Errorf("%s = %d, want 403", name, got)
		}
	}
	// Signed, but for a slot the server does not know.
	if got := send(t, "PUT", f.box.UploadURL(f.srv.URL, "ghost", f.clock.now().Add(time.Hour)), "", strings.NewReader("x")); got != http.StatusNotFound {
		t.Errorf("unknown slot = %d, want 404", got)
	}
	// Too large: 413, and the slot stays usable.
	if got := send(t, "PUT", url, "", bytes.NewReader(make([]byte, 2048))); got != http.StatusRequestEntityTooLarge {
		t.Errorf("too large = %d, want 413", got)
	}
	if got := send(t, "PUT", url, "", io.LimitReader(neverEnding{}, 4096)); got != http.StatusRequestEntityTooLarge {
		t.Errorf("too large without length = %d, want 413", got)
	}
	l, err := f.store.LogRequestByUpload(t.Context(), "sig")
	if err != nil || !l.ReceivedAt.IsZero() {
		t.Fatalf("after refusals %+v %v", l, err)
	}
	// Expired: the URL's time is over.
	_, short := f.slot("short", time.Minute)
	f.clock.add(2 * time.Minute)
	if got := send(t, "PUT", short, "", strings.NewReader("late")); got != http.StatusForbidden {
		t.Errorf("expired = %d, want 403", got)
	}
	if got := send(t, "PUT", url, "", strings.NewReader("fits")); got != http.StatusCreated {
		t.Errorf("a valid upload after the refusals = %d", got)
	}
}

// neverEnding streams bytes without a Content-Length.
type neverEnding struct{}

func (neverEnding) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}
