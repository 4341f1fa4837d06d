package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// runDB is the PostgreSQL database of one cluster run, created for it and dropped after it.
type runDB struct {
	admin string // URL of the server's maintenance database, for CREATE and DROP
	name  string
	url   string // the run's database
}

// createRunDB creates a fresh database on the server that serverURL names.
func createRunDB(ctx context.Context, serverURL string) (*runDB, error) {
	u, err := url.Parse(serverURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, fmt.Errorf("--postgres must be a postgres:// URL")
	}
	d := &runDB{admin: serverURL, name: "opencpo_bench_" + strings.ToLower(rand.Text())[:10]}
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL at %s: %w", u.Redacted(), err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+d.name); err != nil {
		return nil, fmt.Errorf("create the run's database: %w", err)
	}
	u.Path = "/" + d.name
	d.url = u.String()
	return d, nil
}

// drop removes the run's database, closing whatever connections are left.
func (d *runDB) drop(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, d.admin)
	if err != nil {
		return fmt.Errorf("drop the run's database %s: %w", d.name, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `DROP DATABASE IF EXISTS `+d.name+` WITH (FORCE)`); err != nil {
		return fmt.Errorf("drop the run's database %s: %w", d.name, err)
	}
	return nil
}

func (d *runDB) query(ctx context.Context, sql string, each func(pgx.Rows) error) error {
	conn, err := pgx.Connect(ctx, d.url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, sql)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// held counts the fleet's stations each node holds, as the store records it.
func (d *runDB) held(ctx context.Context) (map[string]int, error) {
	m := map[string]int{}
	err := d.query(ctx, `SELECT node, count(*) FROM stations WHERE connected AND id LIKE 'BENCH-%' GROUP BY node`, func(r pgx.Rows) error {
		var node string
		var n int
		if err := r.Scan(&node, &n); err != nil {
			return err
		}
		m[node] = n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("stations per node: %w", err)
	}
	return m, nil
}

// holders maps each connected station of the fleet to the node that holds it.
func (d *runDB) holders(ctx context.Context) (map[string]string, error) {
	m := map[string]string{}
	err := d.query(ctx, `SELECT id, node FROM stations WHERE connected AND id LIKE 'BENCH-%'`, func(r pgx.Rows) error {
		var id, node string
		if err := r.Scan(&id, &node); err != nil {
			return err
		}
		m[id] = node
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("station holders: %w", err)
	}
	return m, nil
}

// duplicateSessions counts the transactions stored as more than one session.
func (d *runDB) duplicateSessions(ctx context.Context) (int, error) {
	n := 0
	err := d.query(ctx, `SELECT count(*) FROM (SELECT 1 FROM sessions GROUP BY station_id, transaction_id HAVING count(*) > 1) d`, func(r pgx.Rows) error {
		return r.Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("duplicate sessions: %w", err)
	}
	return n, nil
}

// dropClusterBuckets removes the key-value buckets the run's cluster made on the NATS server.
func dropClusterBuckets(ctx context.Context, natsURL, cluster string) error {
	nc, err := natsgo.Connect(natsURL)
	if err != nil {
		return fmt.Errorf("remove the run's NATS buckets: %w", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("remove the run's NATS buckets: %w", err)
	}
	var errs []error
	for _, b := range []string{"nodes", "leases"} {
		if err := js.DeleteKeyValue(ctx, cluster+"_"+b); err != nil && !errors.Is(err, jetstream.ErrBucketNotFound) {
			errs = append(errs, fmt.Errorf("remove NATS bucket %s_%s: %w", cluster, b, err))
		}
	}
	return errors.Join(errs...)
}

// openConnections reads the OCPP connections a node holds from its /metrics.
func openConnections(ctx context.Context, addr string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	n := 0
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "opencpo_ocpp_connections{")
		if !ok {
			continue
		}
		_, val, _ := strings.Cut(rest, "} ")
		f, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil {
			return 0, fmt.Errorf("%s/metrics: %q", addr, sc.Text())
		}
		n += int(f)
	}
	return n, sc.Err()
}

// CommandFigures are the REST commands of one phase, each given to a node that does not hold
// the station.
type CommandFigures struct {
	Calls    int     `json:"calls"`
	Answered int     `json:"answered"` // 200 with the station's "Accepted"
	Seconds  float64 `json:"seconds"`
	P50Ms    float64 `json:"p50Ms"`
	P99Ms    float64 `json:"p99Ms"`
	MaxMs    float64 `json:"maxMs"`
	// FirstFailure is the first answer that was not 200 Accepted, for the log.
	FirstFailure string `json:"firstFailure,omitempty"`
}

// crossNodeCommands sends n TriggerMessage(Heartbeat) commands through the REST API, each to a
// random station of holders, through a random live node other than its holder (through via
// only, when given), commandsInFlight at a time.
func crossNodeCommands(ctx context.Context, nodes []*serverProc, holders map[string]string, n int, via *serverProc) (CommandFigures, error) {
	var f CommandFigures
	ids := make([]string, 0, len(holders))
	for id, holder := range holders {
		if via == nil || holder != via.name {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return f, errors.New("cross-node commands: no station is connected")
	}
	byName := map[string]*serverProc{}
	for _, s := range nodes {
		byName[s.name] = s
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: commandsInFlight}}
	defer client.CloseIdleConnections()
	var (
		mu   sync.Mutex
		h    Hist
		wg   sync.WaitGroup
		work = make(chan int)
	)
	start := time.Now()
	for range commandsInFlight {
		wg.Go(func() {
			for range work {
				id := ids[mrand.IntN(len(ids))]
				target := via
				if target == nil {
					var others []*serverProc
					for _, s := range nodes {
						if s.name != holders[id] && s.cmd != nil {
							others = append(others, s)
						}
					}
					target = others[mrand.IntN(len(others))]
				}
				t0 := time.Now()
				ok, failure := triggerHeartbeat(ctx, client, target.addr, id)
				lat := time.Since(t0)
				mu.Lock()
				h.Record(lat)
				f.Calls++
				if ok {
					f.Answered++
				} else if f.FirstFailure == "" {
					f.FirstFailure = fmt.Sprintf("%s held by %s, through %s: %s", id, holders[id], target.name, failure)
				}
				mu.Unlock()
			}
		})
	}
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		work <- i
	}
	close(work)
	wg.Wait()
	f.Seconds = round(time.Since(start).Seconds(), 100)
	f.P50Ms, f.P99Ms, f.MaxMs = ms(h.Quantile(0.5)), ms(h.Quantile(0.99)), ms(time.Duration(h.Max)*time.Microsecond)
	return f, ctx.Err()
}

// triggerHeartbeat asks the station, through the node at addr, to send a Heartbeat (the same
// payload on OCPP 1.6 and 2.0.1), and reports whether it answered Accepted.
func triggerHeartbeat(ctx context.Context, client *http.Client, addr, station string) (bool, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/api/v1/stations/"+station+"/ocpp/TriggerMessage",
		strings.NewReader(`{"requestedMessage":"Heartbeat"}`))
	if err != nil {
		return false, err.Error()
	}
	req.Header.Set("Authorization", "Bearer "+apiToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return false, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`"Accepted"`)) {
		return false, fmt.Sprintf("%s %s", resp.Status, bytes.TrimSpace(body))
	}
	return true, ""
}
