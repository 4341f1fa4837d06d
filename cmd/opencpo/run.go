package main

import (
	"context"
	"fmt"
	"io"
)

const usage = `OpenCPO, the charge point management system.

Usage:
  opencpo demo      [flags]   serve on a temporary SQLite file with a live simulated fleet
  opencpo serve     [flags]   run the CPMS: OCPP endpoint, REST API, metrics
  opencpo simulate  [flags]   simulated charge points (OCPP 1.6 and 2.0.1) against any CSMS
  opencpo migrate   [flags]   apply database migrations and exit
  opencpo user add  EMAIL --role admin|operator|readonly   create a console user (password on stdin)
  opencpo bench     SCENARIO  run a benchmark scenario (fleet-15k) against a fresh server
  opencpo version             print the version

Run "opencpo COMMAND -h" for the flags of a command.
`

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// run is the whole program: it returns the process exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = runServe(ctx, args[1:], getenv, stdout, stderr)
	case "demo":
		err = runDemo(ctx, args[1:], getenv, stdout, stderr)
	case "simulate":
		err = runSimulate(ctx, args[1:], getenv, stdout, stderr)
	case "bench":
		err = runBench(ctx, args[1:], getenv, stdout, stderr)
	case "migrate":
		err = runMigrate(ctx, args[1:], getenv, stdout, stderr)
	case "user":
		err = runUser(ctx, args[1:], getenv, stdin, stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "opencpo", version)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "opencpo: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err != nil {
		if err == errUsage {
			return 2
		}
		fmt.Fprintln(stderr, "opencpo:", err)
		return 1
	}
	return 0
}
