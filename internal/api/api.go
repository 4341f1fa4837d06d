// Package api is the REST API under /api/v1 (CONTRACT.md §3): bearer-token authentication with
// roles, JSON in and out, one error body, cursor-paged lists. Handlers return errors; one adapter
// renders them. It imports the domain, the credential, framelog, commands and billing packages,
// golang.org/x/text (country codes) and the standard library; it reaches stations only through
// the Operations interface (implemented by package csms).
package api

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/opencpo/opencpo/internal/billing"
	"github.com/opencpo/opencpo/internal/commands"
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
	RemoteOperations
	FieldOperations
}

// Config holds what the API is started with.
type Config struct {
	// BootstrapTokenDigest is credential.TokenDigest of the --api-token; "" disables it.
	BootstrapTokenDigest string
	// CallTimeout is the default wait for a station's answer to a raw OCPP call.
	CallTimeout time.Duration
	// Events feeds GET /api/v1/events; nil turns the stream off.
	Events domain.EventBus
	// Frames feeds GET /api/v1/stations/{id}/messages; nil: the log is off (404).
	Frames FrameLog
	// TokenCacheTTL is how long a managed API token lookup is reused (default 10s): the longest
	// a revocation made by another process takes to apply here.
	TokenCacheTTL time.Duration
	// TokenUsageEvery is how often Run writes API tokens' last-used times (default 1 minute).
	TokenUsageEvery time.Duration
	// PublicURL is the server's base URL as stations reach it (upload URLs); "" takes the
	// address each API call came to.
	PublicURL string
	// LogFiles opens uploaded log files; nil when uploads are not configured.
	LogFiles LogFiles
	// FirmwareFiles keeps firmware images served to stations; nil when not configured.
	FirmwareFiles FirmwareFiles
	Now           func() time.Time
	Log           *slog.Logger
}

// Server serves the REST API.
type Server struct {
	// closing ends live event streams when the server shuts down (Close), which would otherwise
	// keep http.Server.Shutdown waiting for them.
	closing   chan struct{}
	closeOnce sync.Once

	tokens *tokenCache
	usage  tokenUsage

	cfg   Config
	store domain.Store
	ops   Operations
	cmds  *commands.Table
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
	if cfg.TokenCacheTTL <= 0 {
		cfg.TokenCacheTTL = 10 * time.Second
	}
	if cfg.TokenUsageEvery <= 0 {
		cfg.TokenUsageEvery = time.Minute
	}
	return &Server{cfg: cfg, store: store, ops: ops, log: cfg.Log, now: cfg.Now, closing: make(chan struct{}),
		tokens: newTokenCache(cfg.TokenCacheTTL, 10_000), cmds: commands.New(),
		billing: billing.New(store, cfg.Now, cfg.Log)}
}

// Close ends the live event streams; the other handlers are unaffected.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.closing) })
}

// mergeDone returns a context that ends with ctx or when done closes.
func mergeDone(ctx context.Context, done <-chan struct{}) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	go func() { // ends with ctx, which the caller cancels when done with it
		select {
		case <-done:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
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
