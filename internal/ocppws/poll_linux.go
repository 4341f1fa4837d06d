//go:build linux

package ocppws

import (
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// poller lets idle connections wait without a goroutine (see conn.park): one epoll instance per
// Server in which a parked connection's socket is armed, one-shot, for input. The epoll instance
// is itself non-blocking and registered with Go's own netpoller (an epoll fd is pollable), so
// the goroutine that waits for it (run) blocks no OS thread and ends when the instance is
// closed.
//
// A socket is known to the kernel by its fd, which is reused as soon as it is closed; events
// therefore carry the connection's own number (conn.key), never the fd, and a closed socket
// leaves the epoll set by itself.
type poller struct {
	f   *os.File        // the epoll instance
	raw syscall.RawConn // f's descriptor, kept open while in use

	mu    sync.Mutex
	conns map[uint64]*conn // registered connections by key

	ctls sync.Pool // of *pollCtl

	done chan struct{} // closed when run has returned
}

// pollCtl is one epoll_ctl call with its closures made once: closures made per call would cost
// every frame a few allocations. Pooled, so that concurrent readers need no common lock.
type pollCtl struct {
	c     *conn
	op    int
	event unix.EpollEvent
	err   error
	epfd  uintptr
	outer func(epfd uintptr)
	inner func(fd uintptr)
}

func newPollCtl() any {
	x := &pollCtl{}
	x.outer = func(epfd uintptr) {
		x.epfd = epfd
		if err := x.c.raw.Control(x.inner); err != nil && x.err == nil {
			x.err = err
		}
	}
	x.inner = func(fd uintptr) {
		if err := unix.EpollCtl(int(x.epfd), x.op, int(fd), &x.event); err != nil {
			x.err = os.NewSyscallError("epoll_ctl", err)
		}
	}
	return x
}

// pollEvents is what an armed socket waits for: input, the peer's FIN, and (always reported)
// errors and hang-ups. One-shot: after one event the socket stays in the set but disarmed until
// the next park.
const pollEvents = unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT

func newPoller() (*poller, error) {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		_ = unix.Close(fd)
		return nil, os.NewSyscallError("fcntl", err)
	}
	f := os.NewFile(uintptr(fd), "ocppws-epoll") // non-blocking: goes into the runtime's poller
	raw, err := f.SyscallConn()
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	p := &poller{f: f, raw: raw, conns: make(map[uint64]*conn), done: make(chan struct{})}
	p.ctls.New = newPollCtl
	return p, nil
}

// register adds c's socket to the set, disarmed (the first park arms it), and makes c findable
// by its key. An error leaves c unregistered: it then never parks.
func (p *poller) register(c *conn) error {
	p.mu.Lock()
	p.conns[c.key] = c
	p.mu.Unlock()
	// Disarmed: EPOLLONESHOT alone asks for nothing; a hang-up or error is still reported once,
	// and a reader that is not parked ignores it.
	err := p.ctl(c, unix.EPOLL_CTL_ADD, unix.EPOLLONESHOT)
	if err != nil {
		p.forget(c)
	}
	return err
}

// arm re-enables c's one-shot registration. A socket that is already readable reports at once.
// It fails when c's socket (or the poller) is closed.
func (p *poller) arm(c *conn) error {
	return p.ctl(c, unix.EPOLL_CTL_MOD, pollEvents)
}

// ctl runs epoll_ctl while both descriptors are held open: neither number can be closed and
// reused by another file in the meantime.
func (p *poller) ctl(c *conn, op int, events uint32) error {
	x := p.ctls.Get().(*pollCtl)
	x.c, x.op, x.err = c, op, nil
	x.event = unix.EpollEvent{Events: events, Fd: int32(uint32(c.key)), Pad: int32(uint32(c.key >> 32))}
	err := p.raw.Control(x.outer)
	if x.err != nil {
		err = x.err
	}
	x.c, x.err = nil, nil
	p.ctls.Put(x)
	return err
}

// forget drops c from the lookup; its socket leaves the epoll set when it is closed.
func (p *poller) forget(c *conn) {
	p.mu.Lock()
	delete(p.conns, c.key)
	p.mu.Unlock()
}

// run waits for armed sockets and wakes their connections until the poller is closed.
func (p *poller) run() {
	defer close(p.done)
	events := make([]unix.EpollEvent, 256)
	var n int
	var werr error
	wait := func(epfd uintptr) bool {
		for {
			n, werr = unix.EpollWait(int(epfd), events, 0) // never blocks: the runtime waits
			if werr != unix.EINTR {
				return n > 0 || werr != nil
			}
		}
	}
	for {
		err := p.raw.Read(wait)
		if err != nil || werr != nil {
			return // closed by Server.Shutdown (an epoll_wait error has no other cause here)
		}
		for i := range events[:n] {
			ev := &events[i]
			key := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
			p.mu.Lock()
			c := p.conns[key]
			p.mu.Unlock()
			if c != nil {
				c.wake()
			}
		}
	}
}

// close ends run and releases the epoll instance. Only after every connection has ended.
func (p *poller) close() {
	_ = p.f.Close()
	<-p.done
}
