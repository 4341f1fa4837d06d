package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/opencpo/opencpo/internal/uploads"
)

// uploadSecretName names the key upload URLs are signed with in the database, so that every
// process on the same database signs and checks alike.
const uploadSecretName = "upload-url-signing"

// newUploadBox sets up the endpoint stations upload log files to.
func newUploadBox(ctx context.Context, cfg serveConfig, store appStore, log *slog.Logger) (*uploads.Box, error) {
	candidate, err := uploads.NewSecret()
	if err != nil {
		return nil, err
	}
	secret, err := store.Secret(ctx, uploadSecretName, candidate)
	if err != nil {
		return nil, fmt.Errorf("upload signing key: %w", err)
	}
	dir := dataDir(cfg)
	box, err := uploads.New(uploads.Config{Dir: dir, Log: log}, secret, store)
	if err != nil {
		return nil, err
	}
	log.Info("uploaded files are kept in " + dir)
	return box, nil
}

// dataDir is --data-dir, or by default a folder next to the SQLite file (PostgreSQL: in the
// temporary directory, since there is no file to sit next to).
func dataDir(cfg serveConfig) string {
	if cfg.DataDir != "" {
		return cfg.DataDir
	}
	if isPostgresURL(cfg.DB) {
		return filepath.Join(os.TempDir(), "opencpo-files")
	}
	return filepath.Join(filepath.Dir(cfg.DB), "opencpo-files")
}
