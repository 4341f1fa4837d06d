// Package console is the operator console: server-rendered pages (html/template) at / for the
// people who run the network, with sign-in, roles, CSRF protection and live updates over
// server-sent events. It imports the domain, the credential package, web (templates and assets)
// and the standard library; it reaches stations only through the Operations interface
// (implemented by package csms), as the REST API does.
package console

import (
	"context"
	"encoding/json"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/opencpo/opencpo/internal/billing"
	"github.com/opencpo/opencpo/internal/credential"
	"github.com/opencpo/opencpo/internal/domain"
	"github.com/opencpo/opencpo/internal/framelog"
)

// FrameLog is the per-station log of recent OCPP frames (package framelog).
type FrameLog interface {
	Messages(stationID string, q framelog.Query) []framelog.Message
	// Watch tells of new frames of a station until ctx ends (the message log page's live refresh).
	Watch(ctx context.Context, stationID string) <-chan struct{}
}

// Operations is what the console needs from the OCPP side (the REST API uses the same methods).
type Operations interface {
	// Call sends a CSMS-initiated OCPP call and records it in the audit log under actor.
	Call(ctx context.Context, actor, stationID, action string, payload json.RawMessage) (json.RawMessage, error)
	// StationChanged makes an operator's change to a station apply to its next message.
	StationChanged(ctx context.Context, stationID string)
	// StartSession asks a station to start charging for a token (0: any EVSE).
	StartSession(ctx context.Context, actor, stationID string, evseID int, idToken string) (domain.RemoteStart, error)
	// StopSession asks a station to stop an active session.
	StopSession(ctx context.Context, actor string, sessionID int64) (string, error)
	// TemplateDrift compares the stations of a configuration template's model with it.
	TemplateDrift(ctx context.Context, templateID string) ([]domain.ConfigDrift, error)
	// ApplyTemplate sends a template's values to the drifted stations of its model (all of them
	// when stationIDs is empty), audited under actor.
	ApplyTemplate(ctx context.Context, actor, templateID string, stationIDs []string) ([]domain.TemplateApply, error)
	// ResumeCampaign continues a halted firmware campaign; CancelCampaign stops one. Both are
	// audited under actor.
	ResumeCampaign(ctx context.Context, actor string, id int64) (domain.Campaign, error)
	CancelCampaign(ctx context.Context, actor string, id int64) (domain.Campaign, error)
}

// Config holds what the console is started with.
type Config struct {
	// Events feeds the live updates; nil turns them off (pages still render).
	Events domain.EventBus
	// IdleTimeout ends a session nobody used for this long (default 30 minutes); MaxAge ends any
	// session this long after sign-in (default 12 hours).
	IdleTimeout, MaxAge time.Duration
	// CallTimeout bounds the wait for a station's answer to a remote operation (default 30 s).
	CallTimeout time.Duration
	// Assets holds templates/, static/ and dist/ (package web's FS).
	Assets fs.FS
	// Frames is the per-station log of recent OCPP frames (package framelog); nil: the log is
	// off and the message log page says so.
	Frames FrameLog
	// APITokenRevoked, when set, is told the id of every API token the console revokes (the
	// REST API drops it from its cache of recent lookups at once).
	APITokenRevoked func(id string)
	Now             func() time.Time
	Log             *slog.Logger
}

// Server serves the console.
type Server struct {
	cfg      Config
	store    domain.Store
	ops      Operations
	log      *slog.Logger
	now      func() time.Time
	pages    map[string]*template.Template
	sessions *sessionStore
	throttle *throttle
	// dummyHash is verified against when the email is unknown, so that the answer takes as long
	// as for a known one and does not tell which addresses have accounts.
	dummyHash string
	hasChart  bool
	hasMap    bool
	billing   *billing.Biller
	closing   chan struct{}
	closeOnce sync.Once
}

// New returns the console server; it fails only when the embedded templates are broken.
func New(cfg Config, store domain.Store, ops Operations) (*Server, error) {
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 30 * time.Minute
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = 12 * time.Hour
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, store: store, ops: ops, log: cfg.Log, now: cfg.Now, closing: make(chan struct{})}
	var err error
	if s.pages, err = parsePages(cfg.Assets); err != nil {
		return nil, err
	}
	if s.dummyHash, err = credential.Hash("not a password of anyone", credential.UserParams()); err != nil {
		return nil, err
	}
	if _, err := fs.Stat(cfg.Assets, "dist/chart.js"); err == nil {
		s.hasChart = true
	}
	if _, err := fs.Stat(cfg.Assets, "dist/map.js"); err == nil {
		s.hasMap = true
	}
	s.billing = billing.New(store, cfg.Now, cfg.Log)
	s.sessions = newSessionStore(store, cfg.Now, cfg.IdleTimeout, cfg.MaxAge)
	s.throttle = newThrottle(store, cfg.Now)
	return s, nil
}

// Close ends the live event streams (http.Server.Shutdown would wait for them otherwise).
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.closing) })
}

// Handler returns every console route.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	s.routes(mux)
	return securityHeaders(mux)
}

// securityHeaders sets the headers every console answer carries: no framing, no sniffing, scripts
// only from this origin.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: https://tile.openstreetmap.org; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// audit records a change made through the console. A failure to write it is logged: the change
// itself already happened.
func (s *Server) audit(ctx context.Context, actor, stationID, action string, request any) {
	body, err := json.Marshal(request)
	if err != nil {
		body = []byte("{}")
	}
	e := domain.AuditEntry{At: s.now().UTC(), Actor: actor, StationID: stationID, Action: action,
		Request: body, Response: []byte(`{"status":"ok"}`)}
	if err := s.store.AddAudit(context.WithoutCancel(ctx), e); err != nil {
		s.log.ErrorContext(ctx, "console: audit entry lost", "action", action, "err", err)
	}
}
