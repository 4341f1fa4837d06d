package framelog

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

func fixedClock() func() time.Time {
	t := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	return func() time.Time { t = t.Add(time.Second); return t }
}

func TestRingPerStation(t *testing.T) {
	l := New(Options{PerStation: 5, Now: fixedClock()})
	for i := range 12 {
		l.Frame("CP-1", false, fmt.Appendf(nil, `[2,"%d","Heartbeat",{}]`, i))
	}
	l.Frame("CP-2", true, []byte(`[2,"x","Reset",{"type":"Soft"}]`))
	msgs := l.Messages("CP-1", Query{})
	if len(msgs) != 5 {
		t.Fatalf("kept %d frames, want 5", len(msgs))
	}
	for i, m := range msgs { // newest first: 11, 10, …, 7
		if want := fmt.Sprint(11 - i); m.UniqueID != want {
			t.Errorf("msgs[%d].UniqueID = %q, want %q", i, m.UniqueID, want)
		}
		if i > 0 && !m.At.Before(msgs[i-1].At) {
			t.Errorf("msgs[%d] not older than the one before", i)
		}
	}
	if st := l.Stats(); st.Stations != 2 || st.Frames != 6 {
		t.Errorf("Stats = %+v, want 2 stations, 6 frames", st)
	}
	if got := l.Messages("CP-9", Query{}); len(got) != 0 {
		t.Errorf("unknown station has %d messages", len(got))
	}
}

func TestParseAndCorrelate(t *testing.T) {
	l := New(Options{Now: fixedClock()})
	l.Frame("CP-1", false, []byte(`[2,"a1","BootNotification",{"chargePointVendor":"V","chargePointModel":"M"}]`))
	l.Frame("CP-1", true, []byte(`[3,"a1",{"status":"Accepted","currentTime":"2026-11-24T10:00:00Z","interval":300}]`))
	l.Frame("CP-1", true, []byte(`[2,"c1","Reset",{"type":"Hard"}]`))
	l.Frame("CP-1", false, []byte(`[4,"c1","NotSupported","no",{"why":1}]`))
	l.Frame("CP-1", false, []byte(`not json at all`))
	l.Frame("CP-1", false, []byte(`[3,"zz",{}]`)) // answers nothing in the log

	msgs := l.Messages("CP-1", Query{})
	if len(msgs) != 6 {
		t.Fatalf("%d messages", len(msgs))
	}
	byID := map[string]Message{}
	for _, m := range msgs {
		byID[m.MessageType+"/"+m.UniqueID] = m
	}
	res := byID["CallResult/a1"]
	if res.Action != "BootNotification" || !res.Sent || string(res.Payload) != `{"status":"Accepted","currentTime":"2026-11-24T10:00:00Z","interval":300}` {
		t.Errorf("result = %+v", res)
	}
	ce := byID["CallError/c1"]
	if ce.Action != "Reset" || ce.Sent || ce.ErrorCode != "NotSupported" || string(ce.Payload) != `{"why":1}` {
		t.Errorf("call error = %+v", ce)
	}
	if c := byID["Call/c1"]; c.Action != "Reset" || string(c.Payload) != `{"type":"Hard"}` {
		t.Errorf("call = %+v", c)
	}
	if m := byID["CallResult/zz"]; m.Action != "" {
		t.Errorf("orphan result got action %q", m.Action)
	}
	if m := msgs[1]; m.MessageType != "" || string(m.Raw) != "not json at all" {
		t.Errorf("non-OCPP frame = %+v", m)
	}
}

func TestQuery(t *testing.T) {
	l := New(Options{Now: fixedClock()})
	l.Frame("CP-1", false, []byte(`[2,"1","Authorize",{"idTag":"ABC123"}]`))
	l.Frame("CP-1", true, []byte(`[3,"1",{"idTagInfo":{"status":"Accepted"}}]`))
	l.Frame("CP-1", false, []byte(`[2,"2","Heartbeat",{}]`))
	l.Frame("CP-1", true, []byte(`[3,"2",{"currentTime":"2026-11-24T10:00:00Z"}]`))

	ids := func(ms []Message) string {
		var b strings.Builder
		for _, m := range ms {
			fmt.Fprintf(&b, "%s%s ", m.MessageType[:min(len(m.MessageType), 5)], m.UniqueID)
		}
		return strings.TrimSpace(b.String())
	}
	cases := []struct {
		q    Query
		want string
	}{
		{Query{}, "CallR2 Call2 CallR1 Call1"},
		{Query{Action: "authorize"}, "CallR1 Call1"},
		{Query{Text: "abc1"}, "Call1"},
		{Query{Direction: "out"}, "CallR2 CallR1"},
		{Query{Direction: "in", Limit: 1}, "Call2"},
		{Query{Action: "Heartbeat", Text: "currentTime"}, "CallR2"},
		{Query{Action: "Reset"}, ""},
	}
	for _, c := range cases {
		if got := ids(l.Messages("CP-1", c.q)); got != c.want {
			t.Errorf("Messages(%+v) = %q, want %q", c.q, got, c.want)
		}
	}
}

func TestTruncation(t *testing.T) {
	l := New(Options{MaxFrameBytes: 40, Now: fixedClock()})
	big := `[2,"t1","DataTransfer",{"vendorId":"V","data":"` + strings.Repeat("x", 500) + `"}]`
	raw := []byte(big)
	l.Frame("CP-1", false, raw)
	raw[2] = 'X' // the log keeps its own copy
	m := l.Messages("CP-1", Query{})[0]
	if !m.Truncated || m.Size != len(big) || len(m.Raw) != 40 || string(m.Raw) != big[:40] {
		t.Errorf("truncated message = %+v", m)
	}
	if m.Action != "DataTransfer" || m.UniqueID != "t1" || m.Payload != nil {
		t.Errorf("head of a truncated frame: action %q id %q payload %s", m.Action, m.UniqueID, m.Payload)
	}
}

func TestGlobalCap(t *testing.T) {
	frame := []byte(`[2,"1","Heartbeat",{}]`)
	per := len(frame) + entryOverhead
	l := New(Options{PerStation: 10, MaxBytes: 25 * per, Now: fixedClock()})
	for i := range 10 {
		for s := range 5 {
			l.Frame(fmt.Sprintf("CP-%d", s), false, frame)
		}
		_ = i
	}
	st := l.Stats()
	if st.Frames != 25 || st.Bytes != 25*per {
		t.Fatalf("Stats = %+v, want 25 frames of %d bytes", st, per)
	}
	// The oldest frames of the whole log went first: every station keeps its 5 newest.
	for s := range 5 {
		if n := len(l.Messages(fmt.Sprintf("CP-%d", s), Query{})); n != 5 {
			t.Errorf("CP-%d keeps %d frames, want 5", s, n)
		}
	}
	// One busy station pushes the idle ones out entirely.
	for range 100 {
		l.Frame("BUSY", false, frame)
	}
	st = l.Stats()
	if st.Bytes > 25*per || st.Frames > 25 {
		t.Errorf("over the cap: %+v", st)
	}
	if n := len(l.Messages("BUSY", Query{})); n != 10 {
		t.Errorf("BUSY keeps %d, want its ring of 10", n)
	}
	if len(l.order) > 2*st.Frames+1024 {
		t.Errorf("order holds %d refs for %d frames", len(l.order), st.Frames)
	}
}

// TestOrderStaysBounded: a station whose ring keeps replacing its own frames (the log never over
// its byte cap) must not grow the arrival order without bound.
func TestOrderStaysBounded(t *testing.T) {
	l := New(Options{PerStation: 3, Now: fixedClock()})
	for range 10_000 {
		l.Frame("CP-1", false, []byte(`[2,"1","Heartbeat",{}]`))
	}
	if len(l.order) > 2*3+1024 {
		t.Errorf("order holds %d refs for 3 frames", len(l.order))
	}
	if n := len(l.Messages("CP-1", Query{})); n != 3 {
		t.Errorf("kept %d", n)
	}
}

func BenchmarkFrame(b *testing.B) {
	l := New(Options{})
	frame := []byte(`[2,"19223201","MeterValues",{"connectorId":1,"meterValue":[{"timestamp":"2026-11-24T10:00:00Z","sampledValue":[{"value":"1234"}]}]}]`)
	ids := make([]string, 1000)
	for i := range ids {
		ids[i] = fmt.Sprintf("CP-%d", i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		l.Frame(ids[i%len(ids)], false, frame)
		i++
	}
}

func TestWatch(t *testing.T) {
	l := New(Options{Now: fixedClock()})
	ctx, cancel := context.WithCancel(t.Context())
	w := l.Watch(ctx, "CP-1")
	l.Frame("CP-2", false, []byte(`[2,"1","Heartbeat",{}]`))
	select {
	case <-w:
		t.Fatal("told of another station's frame")
	default:
	}
	for range 3 { // coalesced: three frames leave one notice, and Frame never blocks
		l.Frame("CP-1", false, []byte(`[2,"2","Heartbeat",{}]`))
	}
	select {
	case <-w:
	default:
		t.Fatal("not told of the station's frame")
	}
	select {
	case <-w:
		t.Fatal("more than one pending notice")
	default:
	}
	cancel()
	deadline := time.Now().Add(2 * time.Second)
	for {
		l.mu.Lock()
		n := len(l.watchers)
		l.mu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the watcher outlived its context")
		}
		time.Sleep(5 * time.Millisecond)
	}
	l.Frame("CP-1", false, []byte(`[2,"3","Heartbeat",{}]`))
}
