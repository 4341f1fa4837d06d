package sqlite

import (
	"context"
	"fmt"
	"sync"
)

// readers runs the store's reads on goroutines of its own, as many as the reader pool has
// connections, first come first served.
//
// SQLite's bytecode engine (modernc's sqlite3VdbeExec) needs a stack frame of several KiB. A
// read made on the caller's goroutine grew that goroutine's stack by copying whenever it was a
// fresh one, which for the OCPP endpoint is every connection's admission and, with idle
// connections parked, most messages: in the fleet-15k bench's mass reconnect about a sixth of
// the server's CPU went to growing stacks (docs/benchmarks.md). The reader goroutines live as
// long as the store and grow theirs once.
//
// The queue also keeps the order fair: database/sql hands a freed connection to a random
// waiter, so under a connection storm some reads waited until their callers had given up while
// later ones went first.
type readers struct {
	jobs chan *readJob
	quit chan struct{}
	wg   sync.WaitGroup
	pool sync.Pool // of *readJob
}

type readJob struct {
	fn    func() error
	err   error
	done  chan struct{}
	panic any
}

func newReaders(n int) *readers {
	r := &readers{jobs: make(chan *readJob), quit: make(chan struct{})}
	r.pool.New = func() any { return &readJob{done: make(chan struct{}, 1)} }
	for range n {
		r.wg.Go(r.serve)
	}
	return r
}

func (r *readers) serve() {
	for {
		select {
		case j := <-r.jobs:
			j.run()
		case <-r.quit:
			return
		}
	}
}

func (j *readJob) run() {
	defer func() {
		j.panic = recover()
		j.done <- struct{}{}
	}()
	j.err = j.fn()
}

// do runs fn on a reader goroutine and returns its error once it is done. It returns an error
// without running fn if ctx ends before a reader is free or the store is closed. A panic in fn
// is raised again on the caller's goroutine.
func (r *readers) do(ctx context.Context, fn func() error) error {
	j := r.pool.Get().(*readJob)
	j.fn = fn
	select {
	case r.jobs <- j:
	case <-ctx.Done():
		j.fn = nil
		r.pool.Put(j)
		return fmt.Errorf("sqlite: read: %w", ctx.Err())
	case <-r.quit:
		j.fn = nil
		r.pool.Put(j)
		return ErrClosed
	}
	<-j.done
	p, err := j.panic, j.err
	j.fn, j.err, j.panic = nil, nil, nil
	r.pool.Put(j)
	if p != nil {
		panic(p)
	}
	return err
}

// close stops the reader goroutines once they have finished what they run.
func (r *readers) close() {
	close(r.quit)
	r.wg.Wait()
}
