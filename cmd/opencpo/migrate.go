package main

import (
	"context"
	"fmt"
	"io"
)

func runMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseServeFlags("migrate", args, getenv, stderr)
	if err != nil {
		return err
	}
	store, err := openStore(ctx, cfg, nil, true)
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	defer store.Close()
	if err := store.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	fmt.Fprintf(stdout, "database %s is up to date\n", dbName(cfg.DB))
	return nil
}
