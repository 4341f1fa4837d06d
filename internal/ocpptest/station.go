package ocpptest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// Station is a test charging station on a real WebSocket. Every frame the CSMS sends it is
// checked against the official schema of its action.
type Station struct {
	t        testing.TB
	ID       string
	Version  string
	conn     *websocket.Conn
	official *Official

	mu       sync.Mutex
	nextID   int
	waiting  map[string]chan []json.RawMessage // message id → reply frame
	pending  map[string]string                 // message id → action, for response checks
	handlers map[string]func(payload json.RawMessage) any
	received []ReceivedCall
	closed   chan struct{}
	readErr  error
}

// ReceivedCall is a CSMS-initiated CALL the station got.
type ReceivedCall struct {
	Action  string
	Payload json.RawMessage
}

// DialOptions are the optional parts of a connection.
type DialOptions struct {
	Subprotocols []string // default: "ocpp"+version
	User, Pass   string   // HTTP Basic auth when User is set
}

// Dial connects a station to baseURL (ws://host:port) and fails the test on error.
func Dial(t testing.TB, official *Official, baseURL, id, version string, opts DialOptions) *Station {
	t.Helper()
	s, resp, err := TryDial(t, official, baseURL, id, version, opts)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial %s as %s: %v (HTTP %d)", baseURL, id, err, status)
	}
	return s
}

// TryDial connects and returns the error and HTTP response instead of failing.
func TryDial(t testing.TB, official *Official, baseURL, id, version string, opts DialOptions) (*Station, *http.Response, error) {
	t.Helper()
	protos := opts.Subprotocols
	if protos == nil {
		protos = []string{"ocpp" + version}
	}
	h := http.Header{}
	if opts.User != "" {
		h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(opts.User+":"+opts.Pass)))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, strings.TrimRight(baseURL, "/")+"/ocpp/"+id, &websocket.DialOptions{Subprotocols: protos, HTTPHeader: h})
	if err != nil {
		return nil, resp, err
	}
	conn.SetReadLimit(16 << 20)
	s := &Station{t: t, ID: id, Version: version, conn: conn, official: official,
		waiting: map[string]chan []json.RawMessage{}, pending: map[string]string{},
		handlers: map[string]func(json.RawMessage) any{}, closed: make(chan struct{})}
	go s.readLoop()
	t.Cleanup(func() { s.Close() })
	return s, resp, nil
}

// Subprotocol is what the server chose.
func (s *Station) Subprotocol() string { return s.conn.Subprotocol() }

// Close closes the connection.
func (s *Station) Close() {
	_ = s.conn.Close(websocket.StatusNormalClosure, "bye")
	<-s.closed
}

// Done is closed when the connection has ended.
func (s *Station) Done() <-chan struct{} { return s.closed }

// Handle sets the answer to a CSMS-initiated action; the function's result is sent as the
// CALLRESULT payload (a *CallErrorReply sends a CALLERROR instead).
func (s *Station) Handle(action string, f func(payload json.RawMessage) any) {
	s.mu.Lock()
	s.handlers[action] = f
	s.mu.Unlock()
}

// CallErrorReply makes a handler answer with a CALLERROR.
type CallErrorReply struct{ Code, Description string }

// Received returns the CSMS-initiated calls so far.
func (s *Station) Received() []ReceivedCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ReceivedCall(nil), s.received...)
}

func (s *Station) readLoop() {
	defer close(s.closed)
	for {
		_, data, err := s.conn.Read(context.Background())
		if err != nil {
			s.mu.Lock()
			s.readErr = err
			for _, ch := range s.waiting {
				close(ch)
			}
			s.waiting = map[string]chan []json.RawMessage{}
			s.mu.Unlock()
			return
		}
		var frame []json.RawMessage
		if err := json.Unmarshal(data, &frame); err != nil || len(frame) < 3 {
			s.t.Errorf("station %s: CSMS sent a malformed frame: %s", s.ID, data)
			continue
		}
		var typ int
		var id string
		_ = json.Unmarshal(frame[0], &typ)
		_ = json.Unmarshal(frame[1], &id)
		switch typ {
		case 2:
			s.answerCall(id, frame)
		case 3, 4:
			s.mu.Lock()
			ch, ok := s.waiting[id]
			action := s.pending[id]
			delete(s.waiting, id)
			delete(s.pending, id)
			s.mu.Unlock()
			if !ok {
				s.t.Errorf("station %s: reply to unknown message id %q: %s", s.ID, id, data)
				continue
			}
			if typ == 3 && s.official != nil && action != "" {
				s.official.Check(s.t, s.Version, action, true, frame[2])
			}
			ch <- frame
		default:
			s.t.Errorf("station %s: CSMS sent message type %d: %s", s.ID, typ, data)
		}
	}
}

func (s *Station) answerCall(id string, frame []json.RawMessage) {
	var action string
	_ = json.Unmarshal(frame[2], &action)
	var payload json.RawMessage
	if len(frame) > 3 {
		payload = frame[3]
	}
	if s.official != nil {
		s.official.Check(s.t, s.Version, action, false, payload)
	}
	s.mu.Lock()
	s.received = append(s.received, ReceivedCall{Action: action, Payload: payload})
	h := s.handlers[action]
	s.mu.Unlock()
	var out []byte
	if h == nil {
		out, _ = json.Marshal([]any{4, id, "NotImplemented", "test station does not handle " + action, map[string]any{}})
	} else {
		res := h(payload)
		if ce, ok := res.(*CallErrorReply); ok {
			out, _ = json.Marshal([]any{4, id, ce.Code, ce.Description, map[string]any{}})
		} else {
			out, _ = json.Marshal([]any{3, id, res})
		}
	}
	_ = s.conn.Write(context.Background(), websocket.MessageText, out)
}

// Call sends a CALL and returns the reply frame ([3,id,payload] or [4,id,code,desc,details]).
func (s *Station) Call(action string, payload any) []json.RawMessage {
	s.t.Helper()
	body, err := json.Marshal(payload)
	if err != nil {
		s.t.Fatalf("marshal %s: %v", action, err)
	}
	s.mu.Lock()
	s.nextID++
	id := fmt.Sprintf("m-%d", s.nextID)
	s.mu.Unlock()
	frame, _ := json.Marshal([]any{2, id, action, json.RawMessage(body)})
	return s.SendRaw(id, action, frame)
}

// TryCall sends a CALL and returns the reply frame, or an error when the connection ends or no
// reply comes within the timeout. Unlike Call it may be used from any goroutine.
func (s *Station) TryCall(action string, payload any, timeout time.Duration) ([]json.RawMessage, error) {
	body, err := json.Marshal(payload)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.nextID++
	id := fmt.Sprintf("m-%d", s.nextID)
	ch := make(chan []json.RawMessage, 1)
	s.waiting[id] = ch
	s.pending[id] = action
	s.mu.Unlock()
	frame, _ := json.Marshal([]any{2, id, action, json.RawMessage(body)})
	if err := s.conn.Write(context.Background(), websocket.MessageText, frame); err != nil {
		return nil, err
	}
	select {
	case reply, ok := <-ch:
		if !ok {
			return nil, fmt.Errorf("connection closed: %v", s.readErr)
		}
		return reply, nil
	case <-time.After(timeout):
		return nil, fmt.Errorf("no reply to %s within %s", action, timeout)
	}
}

// MustCall sends a CALL and returns the CALLRESULT payload, failing on a CALLERROR.
func (s *Station) MustCall(action string, payload any) json.RawMessage {
	s.t.Helper()
	reply := s.Call(action, payload)
	if len(reply) < 3 || string(reply[0]) != "3" {
		s.t.Fatalf("station %s: %s answered %s", s.ID, action, joinFrame(reply))
	}
	return reply[2]
}

// SendRaw sends any frame text and waits for the reply with message id replyID.
func (s *Station) SendRaw(replyID, action string, frame []byte) []json.RawMessage {
	s.t.Helper()
	ch := make(chan []json.RawMessage, 1)
	s.mu.Lock()
	s.waiting[replyID] = ch
	s.pending[replyID] = action
	s.mu.Unlock()
	if err := s.conn.Write(context.Background(), websocket.MessageText, frame); err != nil {
		s.t.Fatalf("station %s: write: %v", s.ID, err)
	}
	select {
	case reply, ok := <-ch:
		if !ok {
			s.t.Fatalf("station %s: connection closed while waiting for %s reply (%v)", s.ID, replyID, s.readErr)
		}
		return reply
	case <-time.After(10 * time.Second):
		s.t.Fatalf("station %s: no reply to %s within 10s", s.ID, replyID)
	}
	return nil
}

func joinFrame(f []json.RawMessage) string {
	parts := make([]string, len(f))
	for i, p := range f {
		parts[i] = string(p)
	}
	return "[" + strings.Join(parts, ",") + "]"
}
