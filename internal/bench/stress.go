package bench

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/opencpo/opencpo/internal/ocpp"
)

// stressPool is a set of extra OCPP 1.6 connections that send MeterValues (a durable,
// exactly-once message) at a set rate, on top of the fleet's realistic mix.
type stressPool struct {
	w *worker

	mu      sync.Mutex
	conns   []*stressConn
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	rateBit atomic.Uint64 // calls per second of each connection, float64 bits
	ups     atomic.Int64
}

type stressConn struct {
	id   string
	conn *websocket.Conn
	seq  int
}

func (p *stressPool) up() int { return int(p.ups.Load()) }

// setRate sets the pool's total rate; the first non-zero rate opens the connections, 0 closes
// them.
func (p *stressPool) setRate(ctx context.Context, rate float64) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := p.w.cfg.StressConns
	if rate <= 0 || n <= 0 {
		p.stopLocked()
		return nil
	}
	p.rateBit.Store(uint64FromFloat(rate / float64(n)))
	if p.conns != nil {
		return nil
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	p.cancel = cancel
	conns := make([]*stressConn, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			c := &stressConn{id: fmt.Sprintf("STRESS-%d-%04d", p.w.cfg.Index, i+1)}
			errs[i] = c.open(runCtx, p.w)
			conns[i] = c
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for _, c := range conns {
			if c.conn != nil {
				_ = c.conn.CloseNow()
			}
		}
		cancel()
		return err
	}
	p.conns = conns
	start := time.Now()
	for i, c := range conns {
		p.ups.Add(1)
		p.wg.Go(func() {
			defer p.ups.Add(-1)
			// Spread the connections' first calls over one interval.
			c.run(runCtx, p, start.Add(time.Duration(i)*time.Second/time.Duration(n)))
		})
	}
	return nil
}

func (p *stressPool) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopLocked()
}

func (p *stressPool) stopLocked() {
	if p.cancel == nil {
		return
	}
	p.cancel()
	p.wg.Wait()
	for _, c := range p.conns {
		_ = c.conn.Close(websocket.StatusNormalClosure, "")
	}
	p.conns, p.cancel = nil, nil
}

func (c *stressConn) open(ctx context.Context, w *worker) error {
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(dctx, w.cfg.URL+"/"+c.id, &websocket.DialOptions{
		Subprotocols: []string{ocpp.V16.Subprotocol()}, HTTPClient: w.http})
	if err != nil {
		return fmt.Errorf("stress connection %s: %w", c.id, err)
	}
	c.conn = conn
	_, err = c.call(dctx, "BootNotification", []byte(`{"chargePointVendor":"OpenCPO-Bench","chargePointModel":"Stress"}`))
	if err != nil {
		_ = conn.CloseNow()
		return fmt.Errorf("stress connection %s: boot: %w", c.id, err)
	}
	return nil
}

// call sends one CALL and waits for its answer, refusing whatever the server asks meanwhile.
func (c *stressConn) call(ctx context.Context, action string, payload []byte) (ocpp.Frame, error) {
	c.seq++
	id := strconv.Itoa(c.seq)
	if err := c.conn.Write(ctx, websocket.MessageText, ocpp.EncodeCall(id, action, payload)); err != nil {
		return ocpp.Frame{}, err
	}
	for {
		_, data, err := c.conn.Read(ctx)
		if err != nil {
			return ocpp.Frame{}, err
		}
		f, perr := ocpp.ParseFrame(data)
		if perr != nil {
			continue
		}
		switch f.Type {
		case ocpp.TypeCall:
			_ = c.conn.Write(ctx, websocket.MessageText, ocpp.EncodeCallError(ocpp.V16, f.ID, ocpp.Errorf(ocpp.NotImplemented, "stress station")))
		case ocpp.TypeCallResult, ocpp.TypeCallError:
			if f.ID == id {
				return f, nil
			}
		}
	}
}

// run sends MeterValues at the pool's per-connection rate; a call that is late does not
// make up for lost time.
func (c *stressConn) run(ctx context.Context, p *stressPool, next time.Time) {
	base := time.Now().UTC().Truncate(time.Second)
	for n := 1; ; n++ {
		if d := time.Until(next); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		} else if ctx.Err() != nil {
			return
		}
		at := base.Add(time.Duration(n) * time.Millisecond).Format("2006-01-02T15:04:05.000Z")
		payload := fmt.Appendf(nil, `{"connectorId":1,"meterValue":[{"timestamp":%q,"sampledValue":[{"value":"%d","measurand":"Energy.Active.Import.Register","unit":"Wh"}]}]}`, at, n*10)
		sent := time.Now()
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		f, err := c.call(cctx, "MeterValues", payload)
		cancel()
		if err != nil {
			return // the connection is gone (kill, stop): the pool is closed by the coordinator
		}
		isErr := f.Type == ocpp.TypeCallError
		var key ackKey
		if !isErr {
			sum := sha256.Sum256(payload)
			key = ackKey{c.id, "MeterValues", hex.EncodeToString(sum[:])}
		}
		p.w.record("MeterValues(stress)", time.Since(sent), !isErr, isErr, key)
		rate := float64FromUint64(p.rateBit.Load())
		next = next.Add(time.Duration(float64(time.Second) / rate))
		if now := time.Now(); next.Before(now) {
			next = now
		}
	}
}

// stressRamp ramps extra durable load on top of the mix, ×1.5 per step, and finds two knees:
// the latency knee (the last step with p99 ≤ 20 ms) and the throughput knee (where durable
// calls/s stop growing with the offered rate). It keeps ramping past the latency knee until
// throughput saturates, a step has errors, p99 passes stressP99Limit, or the steps run out.
func (l *fleetLoad) stressRamp(ctx context.Context, r *StressSummary) error {
	o := l.o
	rate := o.StressStart
	var prev float64
	for step := 1; step <= o.StressMax; step++ {
		per := rate / float64(len(l.workers))
		if err := l.all(same(fmt.Sprintf("stress %g", per)), nil); err != nil {
			return fmt.Errorf("stress: %w", err)
		}
		if err := sleep(ctx, 2*time.Second); err != nil {
			return err
		}
		if _, err := l.phase(""); err != nil {
			return err
		}
		waitProfile := l.profile.cpu(ctx, fmt.Sprintf("stress-%d", step), o.StressStep)
		if err := sleep(ctx, o.StressStep); err != nil {
			return err
		}
		waitProfile()
		p, err := l.phase(fmt.Sprintf("stress-%d", step))
		if err != nil {
			return err
		}
		s := StressStep{Step: step, ExtraRate: rate, CallsPerS: p.CallsPerS, DurablePerS: p.DurablePerS, P50Ms: p.P50Ms, P99Ms: p.P99Ms, P999Ms: p.P999Ms, Errors: p.Errors}
		r.Stress = append(r.Stress, s)
		l.logf("stress step %d: +%.0f/s asked, %.0f calls/s (%.0f durable), p99 %.2f ms, %d errors", step, rate, p.CallsPerS, p.DurablePerS, p.P99Ms, p.Errors)
		if p.DurablePerS > r.MaxDurablePerS {
			r.MaxDurablePerS, r.MaxDurableP99Ms, r.MaxDurableStep = p.DurablePerS, p.P99Ms, step
		}
		r.MaxCallsPerS = max(r.MaxCallsPerS, p.CallsPerS)
		if r.KneeReason == "" {
			if p.P99Ms <= float64(p99Target)/1e6 {
				r.KneeCallsPerS, r.KneeDurablePerS, r.KneeP99Ms = p.CallsPerS, p.DurablePerS, p.P99Ms
			} else {
				r.KneeReason = fmt.Sprintf("p99 %.1f ms > 20 ms at step %d", p.P99Ms, step)
			}
		}
		switch {
		case p.Errors > 0:
			r.SaturationReason = fmt.Sprintf("%d errors at step %d", p.Errors, step)
		case prev > 0 && p.DurablePerS < prev*1.05:
			r.SaturationReason = fmt.Sprintf("durable calls/s stopped rising at step %d (%.0f/s after %.0f/s)", step, p.DurablePerS, prev)
		case p.P99Ms > float64(stressP99Limit)/1e6:
			r.SaturationReason = fmt.Sprintf("p99 %.0f ms > %s at step %d", p.P99Ms, stressP99Limit, step)
		}
		if r.SaturationReason != "" {
			break
		}
		prev = p.DurablePerS
		rate *= 1.5
	}
	if o.StressMax <= 0 {
		r.KneeReason, r.SaturationReason = "no stress ramp", "no stress ramp"
		return nil
	}
	if r.KneeReason == "" {
		r.KneeReason = "p99 stayed ≤ 20 ms at every step"
	}
	if r.SaturationReason == "" {
		r.SaturationReason = "still rising at the last step (more --stress-steps)"
	}
	return l.all(same("stress 0"), nil)
}
