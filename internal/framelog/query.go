package framelog

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"
)

// Message is one recorded frame as callers see it.
type Message struct {
	At          time.Time
	Sent        bool   // central system → station
	MessageType string // Call, CallResult, CallError; "" when the frame is not OCPP-J
	UniqueID    string
	// Action is the call's action; for an answer, the action of the call it answers when that
	// call is still in the log.
	Action    string
	ErrorCode string // of a CallError
	// Payload is the frame's payload (a CallError's details) when the whole frame was kept and
	// is valid JSON.
	Payload   json.RawMessage
	Raw       []byte // the frame as kept (truncated when Truncated)
	Truncated bool
	Size      int // the frame's full length in bytes
}

// Query selects messages of one station.
type Query struct {
	Action string // exact action name, compared ignoring case; "" for all
	Text   string // substring of the raw frame, compared ignoring case; "" for all
	// Direction is "in" (station → central system), "out" or "" for both.
	Direction string
	Limit     int // at most this many (default and maximum: everything kept)
}

var typeNames = map[byte]string{'2': "Call", '3': "CallResult", '4': "CallError"}

// Messages returns a station's recorded frames matching q, newest first.
func (l *Log) Messages(stationID string, q Query) []Message {
	frames := l.snapshot(stationID)
	msgs := make([]Message, len(frames))
	type callKey struct {
		id   string
		sent bool
	}
	calls := make(map[callKey]string)
	for i, f := range frames {
		m := parse(f)
		if m.MessageType == "Call" {
			calls[callKey{m.UniqueID, m.Sent}] = m.Action
		} else if m.MessageType != "" {
			m.Action = calls[callKey{m.UniqueID, !m.Sent}] // the call came the other way
		}
		msgs[i] = m
	}
	needle := []byte(strings.ToLower(q.Text))
	out := make([]Message, 0, min(len(msgs), max(q.Limit, 0)))
	for i := len(msgs) - 1; i >= 0; i-- {
		m := msgs[i]
		switch {
		case q.Action != "" && !strings.EqualFold(m.Action, q.Action),
			q.Direction == "in" && m.Sent, q.Direction == "out" && !m.Sent,
			len(needle) > 0 && !bytes.Contains(bytes.ToLower(m.Raw), needle):
			continue
		}
		out = append(out, m)
		if q.Limit > 0 && len(out) == q.Limit {
			break
		}
	}
	return out
}

// parse reads the head of an OCPP-J frame ([type, id, action|payload|code, …]). A truncated
// frame still has its head; a frame that is not OCPP-J is returned raw, without type.
func parse(f stored) Message {
	m := Message{At: f.at, Sent: f.sent, Raw: f.raw, Truncated: f.size > len(f.raw), Size: f.size}
	dec := json.NewDecoder(bytes.NewReader(f.raw))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return m
	}
	tok, err := dec.Token()
	num, ok := tok.(json.Number)
	if err != nil || !ok || len(num) != 1 || typeNames[num[0]] == "" {
		return m
	}
	kind := num[0]
	if tok, err = dec.Token(); err != nil {
		return m
	}
	id, ok := tok.(string)
	if !ok {
		return m
	}
	m.MessageType, m.UniqueID = typeNames[kind], id
	if kind == '2' || kind == '4' {
		if tok, err = dec.Token(); err != nil {
			return m
		}
		if s, ok := tok.(string); ok {
			if kind == '2' {
				m.Action = s
			} else {
				m.ErrorCode = s
			}
		}
	}
	if m.Truncated {
		return m
	}
	var elems []json.RawMessage
	if json.Unmarshal(f.raw, &elems) != nil {
		return m
	}
	switch {
	case kind == '2' && len(elems) == 4:
		m.Payload = elems[3]
	case kind == '3' && len(elems) == 3:
		m.Payload = elems[2]
	case kind == '4' && len(elems) == 5:
		m.Payload = elems[4]
	}
	return m
}
