package bench

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/jackc/pgx/v5"

	_ "modernc.org/sqlite" // the driver the store uses
)

// readAcks calls each for every acknowledged message listed in files (station, action, digest
// per line).
func readAcks(files []string, each func(station, action, digest string) error) error {
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			parts := strings.Split(sc.Text(), "\t")
			if len(parts) != 3 {
				continue
			}
			if err := each(parts[0], parts[1], parts[2]); err != nil {
				f.Close()
				return err
			}
		}
		f.Close()
		if err := sc.Err(); err != nil {
			return err
		}
	}
	return nil
}

// checkLedgerSQLite counts the acknowledged messages listed in files and how many of them the
// exactly-once ledger of the SQLite database at dbPath holds.
func checkLedgerSQLite(ctx context.Context, dbPath string, files []string) (acked, found int, err error) {
	abs, err := filepath.Abs(dbPath)
	if err != nil {
		return 0, 0, err
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs), OmitHost: true}
	db, err := sql.Open("sqlite", u.String()+"?mode=ro&_pragma=busy_timeout(10000)&_pragma=query_only(1)")
	if err != nil {
		return 0, 0, err
	}
	defer db.Close()
	stmt, err := db.PrepareContext(ctx, `SELECT count(*) FROM station_messages WHERE station_id = ? AND action = ? AND digest = ?`)
	if err != nil {
		return 0, 0, fmt.Errorf("ledger: %w", err)
	}
	defer stmt.Close()
	err = readAcks(files, func(station, action, digest string) error {
		acked++
		var n int
		if err := stmt.QueryRowContext(ctx, station, action, digest).Scan(&n); err != nil {
			return fmt.Errorf("ledger: %w", err)
		}
		if n > 0 {
			found++
		}
		return nil
	})
	return acked, found, err
}

// checkLedgerPostgres counts the acknowledged messages listed in files and how many of them the
// exactly-once ledger of the PostgreSQL database at dbURL holds. The keys are copied into a
// temporary table and joined in one query: a run of 45,000 stations acknowledges hundreds of
// thousands of messages.
func checkLedgerPostgres(ctx context.Context, dbURL string, files []string) (acked, found int, err error) {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return 0, 0, fmt.Errorf("ledger: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE TEMPORARY TABLE acked (station_id text COLLATE "C", action text COLLATE "C", digest text COLLATE "C")`); err != nil {
		return 0, 0, fmt.Errorf("ledger: %w", err)
	}
	var rows [][]any
	if err := readAcks(files, func(station, action, digest string) error {
		rows = append(rows, []any{station, action, digest})
		return nil
	}); err != nil {
		return 0, 0, err
	}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"acked"}, []string{"station_id", "action", "digest"}, pgx.CopyFromRows(rows)); err != nil {
		return 0, 0, fmt.Errorf("ledger: %w", err)
	}
	err = conn.QueryRow(ctx, `SELECT count(*), count(m.station_id) FROM acked a
		LEFT JOIN station_messages m USING (station_id, action, digest)`).Scan(&acked, &found)
	if err != nil {
		return 0, 0, fmt.Errorf("ledger: %w", err)
	}
	return acked, found, nil
}
