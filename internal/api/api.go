// Package api is the REST API under /api/v1 (CONTRACT.md §3): bearer-token authentication, JSON
// in and out, one error body, cursor-paged lists. Handlers return errors; one adapter renders
// them. It imports the domain, the credential and billing packages and the standard library; it reaches
// stations only through the Operations interface (implemented by package csms).
package api

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/opencpo/opencpo/internal/billing"
	"github.com/opencpo/opencpo/internal/domain"
)

// Operations is what the API needs from the OCPP side.
type Operations interface {
	// Call sends a CSMS-initiated OCPP call to a station, validates request and answer against the
	// station's OCPP version, and records it in the audit log under actor.
	Call(ctx context.Context, actor, stationID, action string, payload json.RawMessage) (json.RawMessage, error)
	// StationRemoved drops the connection of a deleted station.
	StationRemoved(ctx context.Context, stationID string)
	// StationChanged tells the OCPP side that an operator changed a station (registration,
	// password), so that the change applies to its next message or connection.
	StationChanged(ctx context.Context, stationID string)
	// StartSession asks a station to start charging for a token (0: any EVSE).
	StartSession(ctx context.Context, actor, stationID string, evseID int, idToken string) (domain.RemoteStart, error)
	// StopSession asks a station to stop an active session and returns its answer.
	StopSession(ctx context.Context, actor string, sessionID int64) (string, error)
}

// Config holds what the API is started with.
type Config struct {
	// BootstrapTokenDigest is credential.TokenDigest of the --api-token; "" disables it.
	BootstrapTokenDigest string
	// CallTimeout is the default wait for a station's answer to a raw OCPP call.
	CallTimeout time.Duration
	Now         func() time.Time
	Log         *slog.Logger
}

// Server serves the REST API.
type Server struct {
	cfg   Config
	store domain.Store
	ops   Operations
	log   *slog.Logger
	now   func() time.Time
	// billing chooses, pins and prices tariffs for sessions, CDRs and price-before-start.
	billing *billing.Biller
}

// New returns the API server.
func New(cfg Config, store domain.Store, ops Operations) *Server {
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Server{cfg: cfg, store: store, ops: ops, log: cfg.Log, now: cfg.Now, billing: billing.New(store, cfg.Now, cfg.Log)}
}

// handlerFunc is an HTTP handler that returns its error for one adapter to render.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// Handler returns the API's routes, every one behind authentication.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	s.routes(mux)
	return mux
}

// handle registers an authenticated route.
func (s *Server) handle(mux *http.ServeMux, pattern string, h handlerFunc) {
	mux.Handle(pattern, s.authenticate(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.renderError(w, r, err)
		}
	}))
}
