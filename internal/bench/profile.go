package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// profiler saves profiles of one server process, which runs with --debug-addr addr. A nil
// profiler takes none.
type profiler struct {
	addr string // the server's --debug-addr
	dir  string // where the profiles go
	logf func(format string, args ...any)
}

// cpu records the server's CPU profile for d into name.cpu, in the background; the returned
// function waits for it.
func (p *profiler) cpu(ctx context.Context, name string, d time.Duration) (wait func()) {
	if p == nil {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		secs := max(1, int(d.Round(time.Second)/time.Second))
		p.fetch(ctx, fmt.Sprintf("/debug/pprof/profile?seconds=%d", secs), name+".cpu")
	}()
	return func() { <-done }
}

// heap saves the server's heap profile into name.heap.
func (p *profiler) heap(ctx context.Context, name string) {
	if p != nil {
		p.fetch(ctx, "/debug/pprof/heap", name+".heap")
	}
}

// fetch saves one profile; a failure is reported and does not stop the run, since the
// profiles explain the figures but are not figures themselves.
func (p *profiler) fetch(ctx context.Context, path, file string) {
	err := func() error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+p.addr+path, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s", resp.Status)
		}
		f, err := os.Create(filepath.Join(p.dir, file))
		if err != nil {
			return err
		}
		if _, err := io.Copy(f, resp.Body); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}()
	if err != nil {
		p.logf("profile %s: %v", file, err)
	}
}
