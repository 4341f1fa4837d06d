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

	_ "modernc.org/sqlite" // the driver the store uses
)

// checkLedger counts the acknowledged messages listed in files (station, action, digest per
// line) and how many of them the server's exactly-once ledger holds.
func checkLedger(ctx context.Context, dbPath string, files []string) (acked, found int, err error) {
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
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return acked, found, err
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			parts := strings.Split(sc.Text(), "\t")
			if len(parts) != 3 {
				continue
			}
			acked++
			var n int
			if err := stmt.QueryRowContext(ctx, parts[0], parts[1], parts[2]).Scan(&n); err != nil {
				f.Close()
				return acked, found, fmt.Errorf("ledger: %w", err)
			}
			if n > 0 {
				found++
			}
		}
		f.Close()
		if err := sc.Err(); err != nil {
			return acked, found, err
		}
	}
	return acked, found, nil
}
