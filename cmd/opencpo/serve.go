package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/opencpo/opencpo/internal/api"
	"github.com/opencpo/opencpo/internal/bus/inmem"
	"github.com/opencpo/opencpo/internal/console"
	"github.com/opencpo/opencpo/internal/credential"
	"github.com/opencpo/opencpo/internal/csms"
	"github.com/opencpo/opencpo/internal/domain"
	"github.com/opencpo/opencpo/internal/netlimit"
	"github.com/opencpo/opencpo/internal/ocppws"
	"github.com/opencpo/opencpo/internal/store/postgres"
	"github.com/opencpo/opencpo/internal/store/sqlite"
	"github.com/opencpo/opencpo/web"
)

// appStore is what serve and migrate need of a store: everything the server keeps, and Migrate.
type appStore interface {
	domain.Store
	Migrate(ctx context.Context) error
}

// openStore opens the store --db names: PostgreSQL for a postgres:// or postgresql:// URL, else
// the SQLite file at that path. Errors never contain the URL's password.
func openStore(ctx context.Context, cfg serveConfig, log *slog.Logger, noMigrate bool) (appStore, error) {
	if isPostgresURL(cfg.DB) {
		s, err := postgres.Open(ctx, cfg.DB, postgres.Options{Logger: log, NoMigrate: noMigrate})
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	s, err := sqlite.Open(ctx, cfg.DB, sqlite.Options{Logger: log, NoMigrate: noMigrate})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// dbName is --db as logs and messages may show it: a URL's password is masked.
func dbName(db string) string {
	if isPostgresURL(db) {
		return postgres.Redact(db)
	}
	return db
}

func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseServeFlags("serve", args, getenv, stderr)
	if err != nil {
		return err
	}
	log, err := newLogger(cfg, stderr)
	if err != nil {
		return err
	}
	applyMemoryDefaults(getenv, cgroupMemoryMax, log)
	go releaseAfterBursts(ctx, log)
	return serve(ctx, cfg, log, stdout, nil)
}

// serve runs the server until ctx ends, then shuts down in order: stop accepting, close station
// connections cleanly, stop background work, flush and close the store. ready, when not nil,
// receives the listening address.
func serve(ctx context.Context, cfg serveConfig, log *slog.Logger, stdout io.Writer, ready chan<- string) error {
	store, err := openStore(ctx, cfg, log, cfg.NoMigrate)
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	defer func() {
		if err := store.Close(); err != nil {
			log.Error("close database", "err", err)
		}
	}()
	// Cluster mode (--nats) joins the others; nil on a single node.
	cl, err := joinCluster(ctx, cfg, log)
	if err != nil {
		return err
	}
	if cl != nil {
		defer cl.close()
	}
	// Whatever the store says this node held before a crash is not connected now (a single
	// node holds every connection; a cluster node only its own).
	if err := resetConnections(ctx, cfg, store); err != nil {
		return fmt.Errorf("reset connection state: %w", err)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	var events domain.EventBus = inmem.New(0)
	if cl != nil {
		events = cl.Cluster
	}
	central := csms.New(csms.Config{
		UnknownStations: cfg.UnknownStations, HeartbeatInterval: cfg.HeartbeatInterval,
		SessionTimeout: cfg.SessionTimeout, LedgerRetention: cfg.LedgerRetention,
		SweepEvery: cfg.sweepEvery, Events: events, Log: log,
		Cluster: cl.csmsConfig(), Lease: cl.lease(),
		RefreshConfigOnBoot: !cfg.NoConfigRefresh,
		CostUpdateEvery:     cfg.costUpdateEvery,
	}, store)
	frames := messageLog(cfg)
	ws := ocppws.New(ocppws.Config{Frames: frames.observer}, central, log, reg)
	central.UseCaller(ws)
	if err := cl.serveCalls(central); err != nil {
		return err
	}

	tokenDigest := ""
	if cfg.APIToken != "" {
		tokenDigest = credential.TokenDigest(cfg.APIToken)
	} else {
		log.Warn("no --api-token given: the REST API refuses every call")
	}
	box, err := newUploadBox(ctx, cfg, store, log)
	if err != nil {
		return err
	}
	central.UseUploads(box)
	rest := api.New(api.Config{BootstrapTokenDigest: tokenDigest, Events: events, Frames: frames.api,
		TokenUsageEvery: cfg.tokenUsageEvery, PublicURL: cfg.PublicURL, LogFiles: box, FirmwareFiles: box, Log: log}, store, central)

	ui, err := console.New(console.Config{Events: events, Assets: web.FS, Frames: frames.console, APITokenRevoked: rest.ForgetAPIToken, Log: log}, store, central)
	if err != nil {
		return err
	}

	mux := http.NewServeMux()
	mux.Handle("/", ui.Handler()) // the operator console (docs/console.md)
	mux.Handle("/ocpp/{stationId}", ws)
	mux.Handle("/api/v1/", rest.Handler())
	box.Register(mux)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"ok"}`+"\n")
	})
	mux.Handle("GET /metrics", metricsGuard(rest, promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))

	if cfg.DebugAddr != "" {
		if err := serveDebug(ctx, cfg.DebugAddr, log); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	lim := netlimit.New(ln, connectionsInSetup)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		ConnState: lim.ConnState, ConnContext: lim.ConnContext}
	srv.RegisterOnShutdown(rest.Close) // live event streams would hold Shutdown up otherwise
	srv.RegisterOnShutdown(ui.Close)

	bgCtx, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	var bg sync.WaitGroup
	bg.Go(func() { _ = central.Run(bgCtx) })
	campaigns := csms.NewFirmwareRunner(csms.RunnerConfig{Every: cfg.campaignEvery, Log: log}, central)
	bg.Go(func() { _ = campaigns.Run(bgCtx) })
	bg.Go(func() { rest.Run(bgCtx) }) // API token last-used times
	if cl != nil {
		bg.Go(func() { _ = cl.Run(bgCtx) }) // the node's heartbeat
	}

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(lim) }()
	addr := ln.Addr().String()
	log.Info("listening", "addr", addr, "ocpp", "ws://"+addr+"/ocpp/{stationId}")
	fmt.Fprintf(stdout, "OpenCPO listening on http://%s (OCPP at ws://%s/ocpp/<stationId>)\n", addr, addr)
	if ready != nil {
		ready <- addr
	}

	select {
	case <-ctx.Done():
	case err := <-serveErr:
		stopBackground()
		bg.Wait()
		_ = campaigns.Close()
		return fmt.Errorf("http server: %w", err)
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		log.Warn("http shutdown", "err", err)
	}
	if err := ws.Shutdown(shutdownCtx); err != nil {
		log.Warn("closing station connections", "err", err)
	}
	stopBackground()
	bg.Wait()
	_ = campaigns.Close()
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// connectionsInSetup bounds the connections the server accepts and has not yet upgraded (or
// answered): during a connection storm the others wait in the kernel's accept queue instead of
// each holding a goroutine and a request's buffers (internal/netlimit, docs/benchmarks.md).
const connectionsInSetup = 1024

// metricsGuard serves /metrics freely to loopback clients and asks anyone else for an API
// token, so that a server on a public address does not publish its internals.
func metricsGuard(rest *api.Server, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
			h.ServeHTTP(w, r)
			return
		}
		rest.RequireToken(h).ServeHTTP(w, r)
	})
}
