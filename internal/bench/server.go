package bench

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// serverProc is one `opencpo serve` process of a run: the server of fleet-15k or a node of
// cluster-45k. It can be started again after a kill, with the same arguments.
type serverProc struct {
	name string   // for messages: "server", "node-1" …
	addr string   // host:port it listens on
	args []string // serve's arguments
	log  string   // its stderr goes here (appended across restarts)
	cmd  *exec.Cmd
	done chan error
}

// freeAddr returns a loopback address with a port nobody listens on right now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func (s *serverProc) pid() int { return s.cmd.Process.Pid }

// start runs serve and waits until it listens.
func (s *serverProc) start(ctx context.Context, exe string, env []string) error {
	logf, err := os.OpenFile(s.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(exe, append([]string{"serve"}, s.args...)...)
	cmd.Env = env
	cmd.Stderr = logf
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		logf.Close()
		return err
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		once := false
		for sc.Scan() {
			if !once && strings.HasPrefix(sc.Text(), "OpenCPO listening on") {
				once = true
				close(ready)
			}
		}
	}()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait(); logf.Close() }()
	select {
	case <-ready:
	case err := <-done:
		return fmt.Errorf("%s exited at start (%v); see %s", s.name, err, s.log)
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		return fmt.Errorf("%s did not start within 60s; see %s", s.name, s.log)
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		<-done
		return ctx.Err()
	}
	s.cmd, s.done = cmd, done
	return nil
}

// kill ends the process with SIGKILL, as a crash would.
func (s *serverProc) kill() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.done
	s.cmd = nil
}

// stop asks the process to shut down and kills it if it takes longer than 15 s.
func (s *serverProc) stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
}
