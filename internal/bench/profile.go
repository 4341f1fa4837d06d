package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// freeLoopbackAddr picks a loopback port that is free now, for a process started next.
func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// profileCPU records the server's CPU profile for d into name.cpu in the profile folder, in the
// background; the returned function waits for it. Without --profile it does nothing.
func (c *coordinator) profileCPU(ctx context.Context, name string, d time.Duration) (wait func()) {
	if c.debug == "" {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		secs := max(1, int(d.Round(time.Second)/time.Second))
		c.fetchProfile(ctx, fmt.Sprintf("/debug/pprof/profile?seconds=%d", secs), name+".cpu")
	}()
	return func() { <-done }
}

// profileHeap saves the server's heap profile into name.heap in the profile folder.
func (c *coordinator) profileHeap(ctx context.Context, name string) {
	if c.debug != "" {
		c.fetchProfile(ctx, "/debug/pprof/heap", name+".heap")
	}
}

// fetchProfile saves one profile; a failure is reported and does not stop the run, since the
// profiles explain the figures but are not figures themselves.
func (c *coordinator) fetchProfile(ctx context.Context, path, file string) {
	err := func() error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+c.debug+path, nil)
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
		f, err := os.Create(filepath.Join(c.o.ProfileDir, file))
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
		c.logf("profile %s: %v", file, err)
	}
}
