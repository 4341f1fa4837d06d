package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/opencpo/opencpo/internal/csms"
)

// errUsage means the flags were wrong and the flag package already said so.
var errUsage = errors.New("usage")

// serveConfig is every setting of serve (CONTRACT.md §1). Each flag also reads its environment
// variable; the flag wins.
type serveConfig struct {
	Addr              string
	DB                string
	APIToken          string
	UnknownStations   csms.UnknownPolicy
	HeartbeatInterval time.Duration
	NATS              string
	Node              string
	Cluster           string
	NodeTTL           time.Duration
	NoMigrate         bool
	NoConfigRefresh   bool
	SessionTimeout    time.Duration
	LedgerRetention   time.Duration // how long the exactly-once ledger remembers a message
	LogLevel          string
	LogFormat         string
	MessageLogMiB     int           // memory for the per-station OCPP message log; 0: off
	DebugAddr         string        // loopback listener for net/http/pprof; "" : none
	sweepEvery        time.Duration // tests shorten the stale-session sweep
	tokenUsageEvery   time.Duration // tests shorten the write of API tokens' last use
	DataDir           string        // uploaded files; "" picks a default (see dataDir)
	campaignEvery     time.Duration // tests speed up the firmware campaign runner
	PublicURL         string
	costUpdateEvery   time.Duration // tests send CostUpdated on every meter value
}

// envFlags binds flags to environment variables: the environment gives the default, a flag given
// on the command line overrides it.
type envFlags struct {
	fs     *flag.FlagSet
	getenv func(string) string
	errs   []error
}

func (e *envFlags) str(p *string, name, env, def, help string) {
	if v := e.getenv(env); v != "" {
		def = v
	}
	e.fs.StringVar(p, name, def, help+" (env "+env+")")
}

func (e *envFlags) duration(p *time.Duration, name, env string, def time.Duration, help string) {
	if v := e.getenv(env); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			e.errs = append(e.errs, fmt.Errorf("%s=%q is not a positive duration such as 300s", env, v))
		} else {
			def = d
		}
	}
	e.fs.DurationVar(p, name, def, help+" (env "+env+")")
}

func (e *envFlags) boolean(p *bool, name, env string, help string) {
	def := false
	if v := strings.ToLower(e.getenv(env)); v != "" {
		switch v {
		case "1", "true", "yes":
			def = true
		case "0", "false", "no":
		default:
			e.errs = append(e.errs, fmt.Errorf("%s=%q is not true or false", env, v))
		}
	}
	e.fs.BoolVar(p, name, def, help+" (env "+env+")")
}

const (
	defaultLedgerRetention = 30 * 24 * time.Hour
	minLedgerRetention     = time.Hour
)

// serveDefaults are the defaults that differ between serve and demo (CONTRACT.md §1).
type serveDefaults struct {
	DB, APIToken, UnknownStations, LogLevel string
}

func defaultsOfServe() serveDefaults {
	return serveDefaults{DB: "opencpo.db", UnknownStations: "pending", LogLevel: "info"}
}

// parseServeFlags reads serve's flags; cmd names the subcommand for messages.
func parseServeFlags(cmd string, args []string, getenv func(string) string, stderr io.Writer) (serveConfig, error) {
	return parseFlags(cmd, args, getenv, stderr, defaultsOfServe(), nil)
}

// parseFlags reads the serve flags with the given defaults; extra adds a command's own flags.
func parseFlags(cmd string, args []string, getenv func(string) string, stderr io.Writer, d serveDefaults, extra func(*flag.FlagSet)) (serveConfig, error) {
	var c serveConfig
	fs := flag.NewFlagSet("opencpo "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	e := &envFlags{fs: fs, getenv: getenv}
	host, _ := os.Hostname()
	var unknown string
	e.str(&c.Addr, "addr", "OPENCPO_ADDR", ":8080", "HTTP listen address for OCPP, REST API, /metrics and /healthz")
	e.str(&c.DB, "db", "OPENCPO_DB", d.DB, "SQLite file path (created if missing), or a postgres:// or postgresql:// URL for PostgreSQL")
	e.str(&c.APIToken, "api-token", "OPENCPO_API_TOKEN", d.APIToken, "bootstrap admin bearer token for the REST API")
	e.str(&unknown, "unknown-stations", "OPENCPO_UNKNOWN_STATIONS", d.UnknownStations, "policy for unregistered charger ids: reject, pending or accept")
	e.duration(&c.HeartbeatInterval, "heartbeat-interval", "OPENCPO_HEARTBEAT_INTERVAL", 300*time.Second, "heartbeat interval sent in BootNotification")
	e.str(&c.NATS, "nats", "OPENCPO_NATS", "", "nats:// URL for cluster mode")
	e.str(&c.Node, "node", "OPENCPO_NODE", host, "this node's name in a cluster")
	e.str(&c.Cluster, "cluster", "OPENCPO_CLUSTER", "opencpo", "cluster name: prefix of the NATS subjects and buckets, so that clusters can share a NATS server")
	e.duration(&c.NodeTTL, "node-ttl", "OPENCPO_NODE_TTL", 15*time.Second, "a cluster node without a heartbeat for this long counts as dead")
	e.boolean(&c.NoMigrate, "no-migrate", "OPENCPO_NO_MIGRATE", "do not apply database migrations on start")
	e.boolean(&c.NoConfigRefresh, "no-config-refresh", "OPENCPO_NO_CONFIG_REFRESH", "do not read a station's configuration after each accepted boot")
	e.duration(&c.SessionTimeout, "session-timeout", "OPENCPO_SESSION_TIMEOUT", 24*time.Hour, "close and flag active sessions with no news for this long")
	e.duration(&c.LedgerRetention, "ledger-retention", "OPENCPO_LEDGER_RETENTION", defaultLedgerRetention,
		"how long a transactional station message is remembered for exactly-once handling (at least 1h; longer than any station stays offline with queued messages)")
	e.str(&c.LogLevel, "log-level", "OPENCPO_LOG_LEVEL", d.LogLevel, "log level: debug, info, warn or error")
	e.str(&c.LogFormat, "log-format", "OPENCPO_LOG_FORMAT", "text", "log format: text or json")
	var messageLog string
	e.str(&messageLog, "message-log-mib", "OPENCPO_MESSAGE_LOG_MIB", "32", "memory in MiB for the recent OCPP frames of every station (GET /api/v1/stations/{id}/messages); 0 turns the log off")
	e.str(&c.DataDir, "data-dir", "OPENCPO_DATA_DIR", "", "directory for files stations upload (default: opencpo-files next to the SQLite file, or in the temporary directory with PostgreSQL)")
	e.str(&c.PublicURL, "public-url", "OPENCPO_PUBLIC_URL", "", "base URL stations reach this server at, for upload URLs (default: the address each API call came to)")
	e.str(&c.DebugAddr, "debug-addr", "OPENCPO_DEBUG_ADDR", "", "loopback address (such as 127.0.0.1:6060) for the Go profiler at /debug/pprof/; off by default")
	if extra != nil {
		extra(fs)
	}
	if err := fs.Parse(args); err != nil {
		return c, errUsage
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if len(e.errs) > 0 {
		return c, errors.Join(e.errs...)
	}
	var err error
	if c.MessageLogMiB, err = strconv.Atoi(messageLog); err != nil || c.MessageLogMiB < 0 || c.MessageLogMiB > 65536 {
		return c, fmt.Errorf("message-log-mib must be a whole number from 0 to 65536")
	}
	if c.UnknownStations, err = csms.ParseUnknownPolicy(unknown); err != nil {
		return c, err
	}
	if c.HeartbeatInterval < time.Second {
		return c, fmt.Errorf("heartbeat-interval must be at least 1s")
	}
	if c.LedgerRetention < minLedgerRetention {
		return c, fmt.Errorf("ledger-retention must be at least %s: a station that replays its queue after a shorter outage could have its messages applied twice", minLedgerRetention)
	}
	if err := checkClusterFlags(c); err != nil {
		return c, err
	}
	if err := checkDebugAddr(c.DebugAddr); err != nil {
		return c, err
	}
	return c, nil
}

// isPostgresURL reports whether --db names a PostgreSQL database rather than a SQLite file.
func isPostgresURL(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// newLogger builds the process logger; secrets are never passed to it.
func newLogger(c serveConfig, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return nil, fmt.Errorf("log-level must be debug, info, warn or error")
	}
	opts := &slog.HandlerOptions{Level: level}
	switch c.LogFormat {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("log-format must be text or json")
}
