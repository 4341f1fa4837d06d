// Package framelog keeps the most recent OCPP frames of every station in memory, both ways, for
// operators to look at (GET /api/v1/stations/{id}/messages). It is bounded twice: per station
// (the last PerStation frames) and as a whole (MaxBytes over all stations, the oldest frames of
// the whole log going first), and it truncates large frames. Nothing is written to disk.
//
// Frames may hold idTokens and other personal data (never passwords: Basic auth travels in the
// HTTP upgrade, not in frames), so whoever serves the log must restrict it.
//
// Frame is called on the message path of every connection: it copies the bytes it keeps and
// holds one mutex briefly; the frames are parsed only when someone asks for them. Watch tells a
// reader (the console's message log page) of a station's new frames without polling. It imports
// the standard library only.
package framelog

import (
	"context"
	"sync"
	"time"
)

// Defaults of Options.
const (
	DefaultPerStation    = 200
	DefaultMaxBytes      = 64 << 20
	DefaultMaxFrameBytes = 4 << 10
)

// entryOverhead approximates the memory a kept frame costs besides its bytes.
const entryOverhead = 96

// Options bound the log.
type Options struct {
	PerStation    int              // frames kept per station (default 200)
	MaxBytes      int              // memory for all stations together, approximately (default 64 MiB)
	MaxFrameBytes int              // frames longer than this are kept truncated (default 4 KiB)
	Now           func() time.Time // default time.Now
}

// Log is the frame log of all stations. Its zero value is not usable; use New.
type Log struct {
	opts Options

	mu       sync.Mutex
	stations map[string]*ring
	order    []ref // every kept frame (and some already dropped) in arrival order
	bytes    int   // cost of the kept frames
	kept     int   // number of kept frames
	// watchers are the channels of Watch, per station: told (without blocking) of new frames.
	watchers map[string]map[chan struct{}]struct{}
}

// ref names one frame of one station in the global arrival order.
type ref struct {
	r   *ring
	seq uint64
}

// ring is one station's frames: frames[head] is the oldest, and head is 0 until the ring is full
// and wraps around.
type ring struct {
	id     string
	frames []stored
	head   int    // index of the oldest frame once len(frames) == cap
	next   uint64 // sequence number of the next frame; the oldest kept is next-len(frames)
}

type stored struct {
	at   time.Time
	sent bool
	raw  []byte
	size int // the frame's length before truncation
}

func (s stored) cost() int { return len(s.raw) + entryOverhead }

// New returns an empty log.
func New(opts Options) *Log {
	if opts.PerStation <= 0 {
		opts.PerStation = DefaultPerStation
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.MaxFrameBytes <= 0 {
		opts.MaxFrameBytes = DefaultMaxFrameBytes
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Log{opts: opts, stations: make(map[string]*ring)}
}

// Frame records one frame: sent is true for a frame the central system sent to the station,
// false for one it received. raw is not kept; Frame copies what it keeps. It has the signature
// of ocppws.FrameObserver.
func (l *Log) Frame(stationID string, sent bool, raw []byte) {
	keep := raw
	if len(keep) > l.opts.MaxFrameBytes {
		keep = keep[:l.opts.MaxFrameBytes]
	}
	f := stored{at: l.opts.Now(), sent: sent, raw: append([]byte(nil), keep...), size: len(raw)}

	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.stations[stationID]
	if r == nil {
		r = &ring{id: stationID}
		l.stations[stationID] = r
	}
	if len(r.frames) == l.opts.PerStation {
		l.bytes -= r.frames[r.head].cost()
		r.frames[r.head] = f
		r.head = (r.head + 1) % len(r.frames)
	} else {
		r.frames = append(r.frames, f)
		l.kept++
	}
	l.bytes += f.cost()
	l.order = append(l.order, ref{r: r, seq: r.next})
	r.next++
	for l.bytes > l.opts.MaxBytes && len(l.order) > 0 {
		l.evictOldest()
	}
	// Frames a full ring replaced leave stale refs behind; drop them before they outnumber the
	// live ones, so that order stays proportional to what is kept.
	if len(l.order) > 2*l.kept+1024 {
		l.compact()
	}
	if len(l.watchers) > 0 {
		for c := range l.watchers[stationID] {
			select {
			case c <- struct{}{}:
			default: // one pending notice says it all
			}
		}
	}
}

// Watch returns a channel that receives a value (coalesced: at most one pending) whenever a frame
// of the station is recorded, until ctx ends. It is how a console page showing the log refreshes
// without polling.
func (l *Log) Watch(ctx context.Context, stationID string) <-chan struct{} {
	c := make(chan struct{}, 1)
	l.mu.Lock()
	if l.watchers == nil {
		l.watchers = map[string]map[chan struct{}]struct{}{}
	}
	if l.watchers[stationID] == nil {
		l.watchers[stationID] = map[chan struct{}]struct{}{}
	}
	l.watchers[stationID][c] = struct{}{}
	l.mu.Unlock()
	context.AfterFunc(ctx, func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		delete(l.watchers[stationID], c)
		if len(l.watchers[stationID]) == 0 {
			delete(l.watchers, stationID)
		}
	})
	return c
}

// evictOldest drops the oldest frame of the whole log, if its ref is still live.
func (l *Log) evictOldest() {
	x := l.order[0]
	l.order[0] = ref{}
	l.order = l.order[1:]
	r := x.r
	if n := len(r.frames); n == 0 || x.seq != r.next-uint64(n) {
		return // already replaced by a newer frame of its station
	}
	l.bytes -= r.frames[r.head].cost()
	l.kept--
	if len(r.frames) == 1 {
		delete(l.stations, r.id)
		r.frames = nil
		return
	}
	if r.head == 0 {
		r.frames[0] = stored{}
		r.frames = r.frames[1:]
		return
	}
	// A full ring that wrapped around: shrink it to the frames after the oldest, in order, so
	// that appends resume the simple way.
	ordered := make([]stored, 0, len(r.frames)-1)
	for i := 1; i < len(r.frames); i++ {
		ordered = append(ordered, r.frames[(r.head+i)%len(r.frames)])
	}
	r.frames, r.head = ordered, 0
}

// compact removes the refs of frames no longer kept.
func (l *Log) compact() {
	live := l.order[:0]
	for _, x := range l.order {
		if n := len(x.r.frames); n > 0 && x.seq >= x.r.next-uint64(n) && l.stations[x.r.id] == x.r {
			live = append(live, x)
		}
	}
	clear(l.order[len(live):])
	l.order = live
}

// Stats tells how much the log holds.
type Stats struct {
	Stations, Frames, Bytes int
}

// Stats returns the log's current size.
func (l *Log) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return Stats{Stations: len(l.stations), Frames: l.kept, Bytes: l.bytes}
}

// snapshot returns a station's frames, oldest first.
func (l *Log) snapshot(stationID string) []stored {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.stations[stationID]
	if r == nil {
		return nil
	}
	out := make([]stored, 0, len(r.frames))
	for i := range r.frames {
		out = append(out, r.frames[(r.head+i)%len(r.frames)])
	}
	return out
}
