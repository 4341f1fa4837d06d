package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"time"
)

// profiler saves profiles of one server process, which runs with --debug-addr addr, and of the
// first load process: on this machine the load side shares the cores with the server, so what
// it costs per call bounds the figures as much as the server does. A nil profiler takes none.
type profiler struct {
	addr string      // the server's --debug-addr
	dir  string      // where the profiles go
	load *workerProc // profiled as name-load.cpu alongside the server (nil: not yet started)
	logf func(format string, args ...any)
}

// cpu records the server's CPU profile for d into name.cpu, in the background; the returned
// function waits for it.
func (p *profiler) cpu(ctx context.Context, name string, d time.Duration) (wait func()) {
	if p == nil {
		return func() {}
	}
	secs := max(1, int(d.Round(time.Second)/time.Second))
	loadDone := func() {}
	if p.load != nil {
		file := filepath.Join(p.dir, name+"-load.cpu")
		if err := p.load.ask(fmt.Sprintf("cpuprofile %d %s", secs, file), nil); err != nil {
			p.logf("profile %s: %v", file, err)
		} else {
			loadDone = func() { waitFile(ctx, file, time.Duration(secs+5)*time.Second) }
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.fetch(ctx, fmt.Sprintf("/debug/pprof/profile?seconds=%d", secs), name+".cpu")
	}()
	return func() { <-done; loadDone() }
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

// waitFile waits until path exists (a load process writes its profile there when it is done),
// at most limit.
func waitFile(ctx context.Context, path string, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if _, err := os.Stat(path); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// startCPUProfile records this process's CPU profile for d and then writes it to path; it
// writes to a temporary name first so that path appears only once the profile is whole.
func startCPUProfile(path string, d time.Duration) error {
	var buf bytes.Buffer
	if err := pprof.StartCPUProfile(&buf); err != nil {
		return err
	}
	time.AfterFunc(d, func() {
		pprof.StopCPUProfile()
		tmp := path + ".part"
		if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err == nil {
			_ = os.Rename(tmp, path)
		}
	})
	return nil
}
