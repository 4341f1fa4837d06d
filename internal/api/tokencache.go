package api

import (
	"context"
	"sync"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
)

// tokenCache keeps recent lookups of managed API tokens by digest, so that most requests do not
// read the store to authenticate. Misses are kept too (a client retrying with a wrong token
// should not cost a query each time). An entry lives ttl; revoking a token in this process drops
// it at once, other processes see the revocation within ttl.
type tokenCache struct {
	ttl time.Duration
	max int

	mu      sync.Mutex
	entries map[string]tokenEntry
}

type tokenEntry struct {
	tok   domain.APIToken
	found bool
	at    time.Time
}

func newTokenCache(ttl time.Duration, max int) *tokenCache {
	return &tokenCache{ttl: ttl, max: max, entries: make(map[string]tokenEntry)}
}

// get returns the cached answer for digest; ok is false when there is none or it is stale.
func (c *tokenCache) get(digest string, now time.Time) (tok domain.APIToken, found, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[digest]
	if !ok || now.Sub(e.at) >= c.ttl || now.Before(e.at) {
		return domain.APIToken{}, false, false
	}
	return e.tok, e.found, true
}

func (c *tokenCache) put(digest string, tok domain.APIToken, found bool, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		// Full (many distinct wrong tokens): start over rather than track ages; the cost is a
		// store read per token on the next requests.
		clear(c.entries)
	}
	c.entries[digest] = tokenEntry{tok: tok, found: found, at: now}
}

// forget drops the token with id id.
func (c *tokenCache) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for d, e := range c.entries {
		if e.found && e.tok.ID == id {
			delete(c.entries, d)
		}
	}
}

// tokenUsage collects when managed tokens were last used and writes it to the store in the
// background, at most once per flush period per token: a request never waits for that write.
type tokenUsage struct {
	mu      sync.Mutex
	pending map[string]time.Time
}

func (u *tokenUsage) used(id string, at time.Time) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.pending == nil {
		u.pending = make(map[string]time.Time)
	}
	if prev, ok := u.pending[id]; !ok || at.After(prev) {
		u.pending[id] = at
	}
}

func (u *tokenUsage) take() map[string]time.Time {
	u.mu.Lock()
	defer u.mu.Unlock()
	p := u.pending
	u.pending = nil
	return p
}

// Run writes the last-used times of managed tokens every Config.TokenUsageEvery until ctx ends,
// then once more. The store must stay open until Run has returned.
func (s *Server) Run(ctx context.Context) {
	t := time.NewTicker(s.cfg.TokenUsageEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			s.flushUsage(context.WithoutCancel(ctx))
			return
		case <-t.C:
			s.flushUsage(ctx)
		}
	}
}

func (s *Server) flushUsage(ctx context.Context) {
	used := s.usage.take()
	if len(used) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.store.TouchAPITokens(ctx, used); err != nil {
		// Losing a last-used time is harmless; the next use records it again.
		s.log.WarnContext(ctx, "api: recording API token use failed", "tokens", len(used), "err", err)
	}
}
