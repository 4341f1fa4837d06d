package ocppws

import (
	"context"
	"sync"
	"time"
)

// readerIdle is how long a reader goroutine with nothing to read waits for another connection
// before it ends.
const readerIdle = 2 * time.Second

// maxReaders bounds the reader goroutines that run at once; connections with a frame to read
// beyond that wait in a queue, holding no goroutine, until a reader is free.
//
// Without a bound, a connection storm ran one reader per station: 15,000 readers waiting for
// their boots' writes, 26,000 goroutines in all with the handshakes. The runtime never frees a
// goroutine's descriptor, so the storm left 11.5 MB of them behind for good, and the readers'
// stacks and buffers in flight at once grew the heap that the idle fleet then kept
// (docs/benchmarks.md, session 6). The writes are batched 512 to a commit (the SQLite store's
// maxBatch), so twice that many readers keep the commits full; more only wait longer.
const maxReaders = 1024

// readerPool runs connection readers (conn.read) on goroutines that outlive one message.
//
// A parked connection used to get a fresh goroutine for each message it woke up with, and that
// goroutine's stack then grew by copying, 2 → 4 → 8 → 16 KiB and on, through schema validation,
// the handlers and SQLite: for every message again. In the fleet-15k bench that was about 5 % of
// the server's CPU under load and 15 % during a mass reconnect (docs/benchmarks.md). A pooled
// goroutine keeps the stack it grew for the next connection it reads. One that finds no work
// for readerIdle ends, so an idle fleet still holds no reader goroutines, and all end with the
// Server's context.
//
// The pool's goroutines are not counted in the Server's wg: a reader holds its connection's
// count while it reads, and between connections a pooled goroutine owns nothing. A queued
// connection is always taken by a running reader: start queues only while limit readers run, and
// every reader looks at the queue before it waits.
type readerPool struct {
	ctx   context.Context
	limit int // most reader goroutines at once

	mu      sync.Mutex
	running int          // reader goroutines alive
	waiting []chan *conn // the idle readers' hand-over channels, most recently idle last
	queue   []*conn      // connections waiting for a reader, oldest first
}

func newReaderPool(ctx context.Context, limit int) *readerPool {
	return &readerPool{ctx: ctx, limit: limit}
}

// start reads c on an idle pooled goroutine, on a new one while fewer than limit run, or queues
// it for the next reader that finishes.
func (p *readerPool) start(c *conn) {
	p.mu.Lock()
	if n := len(p.waiting); n > 0 {
		// The most recently idle reader: its stack is the likeliest to be grown and warm.
		ch := p.waiting[n-1]
		p.waiting[n-1] = nil
		p.waiting = p.waiting[:n-1]
		p.mu.Unlock()
		ch <- c // buffered: never blocks
		return
	}
	if p.running < p.limit {
		p.running++
		p.mu.Unlock()
		go p.loop(c)
		return
	}
	p.queue = append(p.queue, c)
	p.mu.Unlock()
}

func (p *readerPool) loop(c *conn) {
	ch := make(chan *conn, 1)
	idle := time.NewTimer(readerIdle)
	defer idle.Stop()
	for {
		c.read()
		p.mu.Lock()
		if len(p.queue) > 0 {
			c = p.queue[0]
			p.queue[0] = nil
			p.queue = p.queue[1:]
			if len(p.queue) == 0 {
				p.queue = nil // let a storm's backlog array go
			}
			p.mu.Unlock()
			continue
		}
		p.waiting = append(p.waiting, ch)
		p.mu.Unlock()
		idle.Reset(readerIdle)
		select {
		case c = <-ch:
			continue
		case <-idle.C:
		case <-p.ctx.Done():
		}
		// Time to end, unless start has just taken this reader for a connection.
		if p.leave(ch) {
			return
		}
		c = <-ch
	}
}

// leave ends an idle reader: it reports false when start has taken the reader's channel meanwhile
// (a connection is on its way to it and must be read).
func (p *readerPool) leave(ch chan *conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, w := range p.waiting {
		if w == ch {
			p.waiting = append(p.waiting[:i], p.waiting[i+1:]...)
			p.running--
			return true
		}
	}
	return false
}
