package ocppws

import (
	"context"
	"time"
)

// readerIdle is how long a reader goroutine with nothing to read waits for another connection
// before it ends.
const readerIdle = 2 * time.Second

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
// count while it reads, and between connections a pooled goroutine owns nothing.
type readerPool struct {
	ctx  context.Context
	work chan *conn // unbuffered: a send succeeds only if a pooled goroutine is waiting
}

func newReaderPool(ctx context.Context) *readerPool {
	return &readerPool{ctx: ctx, work: make(chan *conn)}
}

// start reads c on a waiting pooled goroutine, or on a new one if none waits.
func (p *readerPool) start(c *conn) {
	select {
	case p.work <- c:
	default:
		go p.loop(c)
	}
}

func (p *readerPool) loop(c *conn) {
	idle := time.NewTimer(readerIdle)
	defer idle.Stop()
	for {
		c.read()
		idle.Reset(readerIdle)
		select {
		case c = <-p.work:
		case <-idle.C:
			return
		case <-p.ctx.Done():
			// Shutdown: a connection still to be read comes through start's default case.
			return
		}
	}
}
