package console

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
	"github.com/opencpo/opencpo/internal/ocpp"
)

// handlerFunc is a console handler that returns its error for renderError.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

var errNoPage = &domain.Error{Kind: domain.ErrNotFound, Message: "there is no such page"}

// view is what every page template receives.
type view struct {
	Title    string
	Nav      string // the menu entry to highlight
	User     domain.User
	CSRF     string
	Flash    flash
	HasChart bool
	HasMap   bool
	Data     any
}

// parsePages parses each page template together with the layout and the shared partials.
func parsePages(assets fs.FS) (map[string]*template.Template, error) {
	names, err := fs.Glob(assets, "templates/pages/*.html")
	if err != nil || len(names) == 0 {
		return nil, fmt.Errorf("console: no page templates (%v)", err)
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(assets, "templates/layout.html", "templates/partials/*.html", n)
		if err != nil {
			return nil, fmt.Errorf("console: template %s: %w", n, err)
		}
		pages[strings.TrimSuffix(path.Base(n), ".html")] = t
	}
	return pages, nil
}

var funcs = template.FuncMap{
	"time": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05")
	},
	"iso": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	},
	"kwh": func(wh float64) string { return fmt.Sprintf("%.2f", wh/1000) },
	"kwhp": func(wh *float64) string {
		if wh == nil {
			return "—"
		}
		return fmt.Sprintf("%.2f", *wh/1000)
	},
	"lower":       strings.ToLower,
	"restriction": restrictionText,
	"inc":         func(i int) int { return i + 1 },
	"percent":     func(f float64) string { return strconv.FormatFloat(f*100, 'f', -1, 64) + " %" },
	"component":   componentText,
	"path":        url.PathEscape,
	"query":       url.QueryEscape,
	"eq2":         func(a, b string) bool { return a == b },
}

// render writes a whole page. Pages are rendered into a buffer first so that a template error
// becomes a clean 500 rather than half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, page string, title, nav string, data any) error {
	t := s.pages[page]
	if t == nil {
		return fmt.Errorf("console: no template %q", page)
	}
	wh := whoOf(r.Context())
	v := view{Title: title, Nav: nav, User: wh.user, CSRF: wh.csrf, HasChart: s.hasChart, HasMap: s.hasMap && page == "locations", Data: data}
	if wh.sessKey != "" && wh.flash.Message != "" && r.Header.Get("X-Live") == "" {
		// Shown once: the stored message goes as this page takes it.
		v.Flash = wh.flash
		if err := s.sessions.clearFlash(r.Context(), wh.sessKey); err != nil {
			s.log.ErrorContext(r.Context(), "console: clear flash", "err", err)
		}
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, v); err != nil {
		return fmt.Errorf("console: render %s: %w", page, err)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
	return nil
}

// errorKinds maps the domain's error kinds to HTTP status codes for console pages.
var errorKinds = []struct {
	kind   error
	status int
}{
	{domain.ErrInvalid, http.StatusBadRequest},
	{domain.ErrUnauthorized, http.StatusUnauthorized},
	{domain.ErrForbidden, http.StatusForbidden},
	{domain.ErrNotFound, http.StatusNotFound},
	{domain.ErrConflict, http.StatusConflict},
	{domain.ErrOffline, http.StatusConflict},
	{domain.ErrStationProtocol, http.StatusBadGateway},
	{domain.ErrTimeout, http.StatusGatewayTimeout},
	{context.DeadlineExceeded, http.StatusGatewayTimeout},
}

// explain turns an error into a status and a message safe to show: only domain errors and
// OCPP CALLERRORs carry their text to the user; anything else is logged and shown as a 500.
func explain(err error) (int, string) {
	var ce *ocpp.CallError
	if errors.As(err, &ce) {
		msg := ce.Description
		if msg == "" {
			msg = "no description"
		}
		return http.StatusBadGateway, fmt.Sprintf("the station answered with an error (%s): %s", ce.Code, msg)
	}
	for _, k := range errorKinds {
		if errors.Is(err, k.kind) {
			var de *domain.Error
			if errors.As(err, &de) && de.Message != "" {
				return k.status, de.Message
			}
			if k.status == http.StatusGatewayTimeout {
				return k.status, "the station did not answer in time"
			}
			return k.status, http.StatusText(k.status)
		}
	}
	return http.StatusInternalServerError, "something went wrong on the server; the details are in its log"
}

// renderError is the one place console errors become answers.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := explain(err)
	if status == http.StatusInternalServerError {
		s.log.ErrorContext(r.Context(), "console", "path", r.URL.Path, "err", err)
	}
	if !wantsHTML(r) && r.Method == http.MethodGet {
		http.Error(w, msg, status)
		return
	}
	if rerr := s.render(w, r, status, "error", http.StatusText(status), "", msg); rerr != nil {
		s.log.ErrorContext(r.Context(), "console: render error page", "err", rerr)
		http.Error(w, msg, status)
	}
}

// form carries what a user typed and what is wrong with it, so that a failed submit shows the
// page again with everything kept and each problem next to its field.
type form struct {
	Values url.Values
	Errors map[string]string
}

func newForm(r *http.Request) *form {
	return &form{Values: r.PostForm, Errors: map[string]string{}}
}

func (f *form) Get(k string) string {
	if f == nil || f.Values == nil {
		return ""
	}
	return f.Values.Get(k)
}

func (f *form) Err(k string) string {
	if f == nil {
		return ""
	}
	return f.Errors[k]
}

func (f *form) fail(k, msg string) {
	if _, ok := f.Errors[k]; !ok {
		f.Errors[k] = msg
	}
}

func (f *form) ok() bool { return len(f.Errors) == 0 }

// redirect answers a successful POST (post/redirect/get).
func redirect(w http.ResponseWriter, r *http.Request, to string) error {
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

// messageOf is the user-facing text of an error.
func messageOf(err error) string {
	_, msg := explain(err)
	return msg
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }
