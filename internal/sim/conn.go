package sim

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/opencpo/opencpo/internal/ocpp"
	"github.com/opencpo/opencpo/internal/ocpp/schema"
)

const (
	dialTimeout     = 15 * time.Second
	writeTimeout    = 10 * time.Second
	maxAttempts     = 5 // transmissions of one transaction message before it is given up
	readLimit       = 1 << 20
	timeoutsToReset = 2 // unanswered CALLs in a row after which the connection is presumed dead
)

func joinURL(base, id string) string {
	return strings.TrimRight(base, "/") + "/" + url.PathEscape(id)
}

// connect starts a connection attempt unless one is open or under way.
func (s *Station) connect() {
	if s.conn != nil || s.dialing {
		return
	}
	if now := s.mono(); now.Before(s.outageUntil) {
		s.connectAt = s.outageUntil
		return
	}
	s.dialing = true
	s.gen++
	gen := s.gen
	opts := &websocket.DialOptions{Subprotocols: []string{s.cfg.Version.Subprotocol()}, HTTPClient: s.cfg.HTTPClient}
	if s.cfg.Password != "" {
		opts.HTTPHeader = http.Header{"Authorization": {"Basic " +
			base64.StdEncoding.EncodeToString([]byte(s.cfg.ID+":"+s.cfg.Password))}}
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ctx, cancel := context.WithTimeout(s.life, dialTimeout)
		conn, resp, err := websocket.Dial(ctx, s.url, opts)
		cancel()
		if err != nil && resp != nil {
			err = fmt.Errorf("%w (HTTP %d)", err, resp.StatusCode)
		}
		if !s.post(event{kind: evDialed, gen: gen, conn: conn, err: err}) && conn != nil {
			_ = conn.CloseNow()
		}
	}()
}

func (s *Station) handleEvent(ev event) {
	if ev.gen != s.gen {
		if ev.conn != nil { // a connection nobody wants any more
			_ = ev.conn.CloseNow()
		}
		return
	}
	switch ev.kind {
	case evDialed:
		s.dialed(ev.conn, ev.err)
	case evFrame:
		if s.conn != nil {
			s.handleFrame(ev.data)
		}
	case evClosed:
		if s.conn != nil {
			s.lostConnection(ev.err)
		}
	}
}

func (s *Station) dialed(conn *websocket.Conn, err error) {
	s.dialing = false
	if err == nil && conn.Subprotocol() != s.cfg.Version.Subprotocol() {
		_ = conn.CloseNow()
		err = fmt.Errorf("the CSMS did not agree to subprotocol %s", s.cfg.Version.Subprotocol())
	}
	if err == nil && s.mono().Before(s.outageUntil) { // the network went down while dialling
		_ = conn.CloseNow()
		s.scheduleReconnect()
		return
	}
	if err != nil {
		s.stats.dialFailures.Add(1)
		s.log.Debug("sim: connect failed", "err", err)
		s.scheduleReconnect()
		return
	}
	conn.SetReadLimit(readLimit)
	s.conn = conn
	s.stats.connects.Add(1)
	s.stats.online.Store(true)
	s.registration = regNone
	s.timeoutsInRow = 0
	gen := s.gen
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			// Not the life context: cancelling a Read closes the connection, and Run wants
			// to close it politely itself.
			typ, data, err := conn.Read(context.Background())
			if err != nil {
				s.post(event{kind: evClosed, gen: gen, err: err})
				return
			}
			if typ == websocket.MessageText && !s.post(event{kind: evFrame, gen: gen, data: data}) {
				return
			}
		}
	}()
	s.log.Debug("sim: connected")
	s.sendBoot()
}

// scheduleReconnect plans the next attempt: exponential back-off with jitter (half to full
// interval), or the end of a simulated outage.
func (s *Station) scheduleReconnect() {
	now := s.mono()
	if now.Before(s.outageUntil) {
		s.connectAt = s.outageUntil.Add(time.Duration(s.netRand.Int64N(int64(s.cfg.ReconnectMin) + 1)))
		return
	}
	d := s.cfg.ReconnectMin << min(s.backoff, 20)
	if d > s.cfg.ReconnectMax || d <= 0 {
		d = s.cfg.ReconnectMax
	}
	s.backoff++
	d = d/2 + time.Duration(s.netRand.Int64N(int64(d/2)+1))
	s.connectAt = now.Add(d)
}

// lostConnection forgets the connection: transaction messages stay queued (an unanswered one
// goes back to the front, to be sent again unchanged), everything else is dropped.
func (s *Station) lostConnection(cause error) {
	s.closeConn(false)
	s.stats.drops.Add(1)
	s.log.Debug("sim: connection lost", "err", cause)
	s.scheduleReconnect()
}

// closeConn closes the connection (politely when graceful) and resets what belonged to it.
func (s *Station) closeConn(graceful bool) {
	conn := s.conn
	if conn == nil {
		return
	}
	s.conn = nil
	s.gen++
	if graceful {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			_ = conn.Close(websocket.StatusServiceRestart, "rebooting")
		}()
	} else {
		_ = conn.CloseNow()
	}
	s.stats.online.Store(false)
	s.stats.connected.Store(false)
	s.registration = regNone
	s.bootAt, s.heartbeatAt, s.callDeadline = time.Time{}, time.Time{}, time.Time{}
	if in := s.inflight; in != nil {
		s.inflight = nil
		if in.msg.tx {
			s.ob.pushFront(in.msg)
		} else {
			s.fail(in.msg, nil)
		}
	}
	for _, m := range s.ob.dropVolatile() {
		s.fail(m, nil)
	}
	s.bootReason = bootReconnect
}

// networkDrop simulates a network failure: the socket goes, the station stays offline for a
// while and keeps charging.
func (s *Station) networkDrop() {
	if beh := s.cfg.Behavior; beh.DropsPerDay > 0 {
		s.dropAt = s.in(expDur(s.netRand, beh.DropsPerDay))
	}
	outage := max(s.realDur(uniformDur(s.netRand, 10*time.Second, 5*time.Minute)), 100*time.Millisecond)
	s.outageUntil = s.mono().Add(outage)
	if s.conn != nil {
		s.lostConnection(errors.New("simulated network drop"))
	}
}

// reboot ends the connection politely and reconnects after a short (simulated) boot time.
func (s *Station) reboot() {
	s.closeConn(true)
	s.bootReason = bootRemoteReset
	s.connectAt = time.Time{}
	s.rebootAt = s.mono().Add(max(s.realDur(10*time.Second), 100*time.Millisecond))
}

func (s *Station) sendBoot() {
	if s.conn == nil || s.registration == regAccepted {
		return
	}
	if s.inflight != nil && s.inflight.msg.action == "BootNotification" || s.ob.has("BootNotification") {
		return
	}
	s.ob.pushFront(s.proto.bootMsg(s.bootReason))
}

// bootAnswered applies the CSMS's answer to a BootNotification.
func (s *Station) bootAnswered(status string, interval int) {
	if interval > 0 {
		s.heartbeat = time.Duration(interval) * time.Second
		s.setHeartbeatSetting(interval)
	}
	switch status {
	case "Accepted":
		wasAccepted := s.registration == regAccepted
		s.registration = regAccepted
		s.commissioned = true
		s.stats.boots.Add(1)
		s.stats.connected.Store(true)
		s.backoff = 0
		s.bootAt = time.Time{}
		s.scheduleHeartbeat()
		s.log.Debug("sim: boot accepted")
		if !wasAccepted {
			s.announceAll()
		}
	default: // Pending or Rejected: ask again after the interval
		if status == "Pending" {
			s.registration = regPending
		} else {
			s.registration = regRejected
		}
		retry := s.heartbeat
		if interval <= 0 {
			retry = 60 * time.Second
		}
		s.bootAt = s.mono().Add(max(s.realDur(retry), minRealTimer))
	}
}

// bootFailed: the BootNotification got no usable answer; ask again in a minute (simulated)
// unless the connection went (the next connection boots anyway).
func (s *Station) bootFailed() {
	if s.conn != nil && s.registration != regAccepted {
		s.bootAt = s.mono().Add(max(s.realDur(60*time.Second), minRealTimer))
	}
}

func (s *Station) scheduleHeartbeat() {
	if s.registration != regAccepted || s.heartbeat <= 0 {
		s.heartbeatAt = time.Time{}
		return
	}
	s.heartbeatAt = s.mono().Add(max(s.realDur(s.heartbeat), minRealTimer))
}

func (s *Station) heartbeatDue() {
	if s.registration != regAccepted {
		return
	}
	if !s.ob.has("Heartbeat") && (s.inflight == nil || s.inflight.msg.action != "Heartbeat") {
		s.send(s.proto.heartbeatMsg())
	}
	s.scheduleHeartbeat()
}

// send queues m. Transaction messages are always queued (they wait out any outage); others
// only when they can go out: once the boot is accepted, or, for pendingOK ones, while connected.
func (s *Station) send(m *outMsg) {
	switch {
	case m.tx, s.registration == regAccepted, m.pendingOK && s.conn != nil:
		if gone := s.ob.push(m); gone != nil {
			s.stats.dropped.Add(1)
		}
	default:
		s.fail(m, nil)
	}
}

func (s *Station) fail(m *outMsg, err error) {
	if m.onFail != nil {
		m.onFail(err)
	}
}

// pump sends the next queued CALL when none is in flight.
func (s *Station) pump() {
	for s.conn != nil && s.inflight == nil {
		m := s.ob.next(s.registration == regAccepted)
		if m == nil {
			return
		}
		payload, err := m.freeze()
		if err == nil {
			err = s.checkRequest(m.action, payload)
		}
		if err != nil {
			if errors.Is(err, errNoTransactionID) {
				s.stats.dropped.Add(1)
				s.log.Warn("sim: transaction message dropped", "action", m.action, "err", err)
			} else {
				s.stats.errors.Add(1)
				s.log.Error("sim: refusing to send an invalid frame", "action", m.action, "err", err)
			}
			s.fail(m, nil)
			continue
		}
		s.msgSeq++
		id := strconv.FormatUint(s.msgSeq, 10)
		m.attempts++
		if m.attempts > 1 {
			s.stats.retransmits.Add(1)
		}
		s.inflight = &inflight{msg: m, id: id, payload: payload, sentAt: s.mono()}
		s.callDeadline = s.inflight.sentAt.Add(s.cfg.CallTimeout)
		if !s.write(ocpp.EncodeCall(id, m.action, payload)) {
			return
		}
		s.stats.sent.Add(1)
	}
}

// checkRequest validates an outgoing request payload against the version's schema.
func (s *Station) checkRequest(action string, payload []byte) error {
	act, ok := s.catalog.Lookup(action)
	if !ok || !act.Direction.Has(schema.FromStation) {
		return fmt.Errorf("%s is not an OCPP %s action a station sends", action, s.cfg.Version)
	}
	return act.Request.Validate(payload)
}

// write sends one frame; a failure means the connection is gone.
func (s *Station) write(frame []byte) bool {
	ctx, cancel := context.WithTimeout(s.life, writeTimeout)
	err := s.conn.Write(ctx, websocket.MessageText, frame)
	cancel()
	if err != nil {
		s.lostConnection(err)
		return false
	}
	return true
}

func (s *Station) callTimedOut() {
	in := s.inflight
	if in == nil {
		return
	}
	s.inflight = nil
	s.lastTimedOut = in.id
	s.stats.timeouts.Add(1)
	s.timeoutsInRow++
	s.log.Warn("sim: no answer", "action", in.msg.action, "id", in.id)
	if in.msg.tx && in.msg.attempts < maxAttempts {
		s.ob.pushFront(in.msg)
	} else {
		s.stats.dropped.Add(1)
		s.fail(in.msg, nil)
	}
	if s.timeoutsInRow >= timeoutsToReset && s.conn != nil {
		s.lostConnection(errors.New("the CSMS stopped answering"))
	}
}

// handleFrame handles one text frame from the CSMS.
func (s *Station) handleFrame(data []byte) {
	f, perr := ocpp.ParseFrame(data)
	if perr != nil {
		s.stats.errors.Add(1)
		s.log.Warn("sim: unreadable frame from the CSMS", "err", perr)
		if f.Type == ocpp.TypeCall || f.Type == 0 {
			s.writeAnswer(ocpp.EncodeCallError(s.cfg.Version, f.ID, perr))
		}
		return
	}
	switch f.Type {
	case ocpp.TypeCall:
		s.handleCall(f)
	case ocpp.TypeCallResult, ocpp.TypeCallError:
		s.handleReply(f)
	}
}

func (s *Station) handleReply(f ocpp.Frame) {
	in := s.inflight
	if in == nil || in.id != f.ID {
		if f.ID != s.lastTimedOut { // a late answer to a timed-out CALL is no surprise
			s.stats.errors.Add(1)
			s.log.Warn("sim: answer to no pending CALL", "id", f.ID)
		}
		return
	}
	s.inflight = nil
	s.callDeadline = time.Time{}
	s.timeoutsInRow = 0
	m := in.msg
	if s.cfg.OnReply != nil {
		s.cfg.OnReply(Reply{StationID: s.cfg.ID, Action: m.action, Payload: in.payload, Transactional: m.tx,
			Error: f.Type == ocpp.TypeCallError, Latency: s.mono().Sub(in.sentAt)})
	}
	if f.Type == ocpp.TypeCallError {
		s.stats.callErrors.Add(1)
		s.stats.errors.Add(1)
		s.log.Warn("sim: CALLERROR", "action", m.action, "code", f.ErrorCode, "description", f.ErrorDescription)
		s.fail(m, &ocpp.CallError{Code: f.ErrorCode, Description: f.ErrorDescription})
		return
	}
	s.stats.acked.Add(1)
	act, _ := s.catalog.Lookup(m.action)
	if err := act.Response.Validate(f.Payload); err != nil {
		s.stats.errors.Add(1)
		s.log.Warn("sim: CALLRESULT violates the schema", "action", m.action, "err", err)
		s.fail(m, err)
		return
	}
	if m.onReply != nil {
		m.onReply(f.Payload)
	}
}

// handler answers one CSMS-initiated CALL. after, when not nil, runs once the answer is on
// the wire (a Reset reboots, a TriggerMessage sends what was asked for).
type handler func(s *Station, req any) (resp any, after func(), err *ocpp.CallError)

func (s *Station) handleCall(f ocpp.Frame) {
	resp, after, cerr := s.dispatch(f)
	var frame []byte
	if cerr == nil {
		payload, err := json.Marshal(resp)
		if err == nil {
			act, _ := s.catalog.Lookup(f.Action)
			err = act.Response.Validate(payload)
		}
		if err != nil {
			s.stats.errors.Add(1)
			s.log.Error("sim: refusing to send an invalid answer", "action", f.Action, "err", err)
			cerr = ocpp.Errorf(ocpp.InternalError, "the station could not answer %s", f.Action)
			after = nil
		} else {
			frame = ocpp.EncodeCallResult(f.ID, payload)
		}
	}
	if cerr != nil {
		frame = ocpp.EncodeCallError(s.cfg.Version, f.ID, cerr)
	}
	if !s.writeAnswer(frame) {
		return
	}
	if after != nil {
		after()
	}
}

func (s *Station) writeAnswer(frame []byte) bool {
	if s.conn == nil || !s.write(frame) {
		return false
	}
	s.stats.answered.Add(1)
	return true
}

// dispatch validates a CSMS-initiated CALL and runs its handler.
func (s *Station) dispatch(f ocpp.Frame) (any, func(), *ocpp.CallError) {
	act, ok := s.catalog.Lookup(f.Action)
	if !ok {
		return nil, nil, ocpp.Errorf(ocpp.NotImplemented, "unknown action %q", f.Action)
	}
	if !act.Direction.Has(schema.FromCSMS) {
		return nil, nil, ocpp.Errorf(ocpp.NotSupported, "%s is sent by charging stations", f.Action)
	}
	if err := act.Request.Validate(f.Payload); err != nil {
		var ve *schema.ValidationError
		code := ocpp.FormatViolation
		if errors.As(err, &ve) {
			code = ve.Code()
		}
		return nil, nil, &ocpp.CallError{Code: code, Description: err.Error()}
	}
	h := s.proto.handler(f.Action)
	if h == nil {
		return nil, nil, ocpp.Errorf(ocpp.NotSupported, "the simulator does not support %s", f.Action)
	}
	req := act.NewRequest()
	if err := json.Unmarshal(f.Payload, req); err != nil {
		return nil, nil, ocpp.Errorf(ocpp.FormatViolation, "payload does not decode: %v", err)
	}
	return h(s, req)
}

// decode reads a CALLRESULT payload that already passed its schema.
func decode[T any](s *Station, raw json.RawMessage) (T, bool) {
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		s.stats.errors.Add(1)
		s.log.Warn("sim: answer does not decode", "err", err)
		return v, false
	}
	return v, true
}
