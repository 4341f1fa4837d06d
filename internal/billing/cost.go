package billing

import (
	"context"
	"errors"

	"github.com/opencpo/opencpo/internal/domain"
	"github.com/opencpo/opencpo/internal/pricing"
)

// SessionCost is a session's cost as people are shown it (REST API and console): the CDR's
// totals for a completed session that has a CDR, otherwise the session priced now (live while
// active). hasCDR tells whether the session has a CDR. The cost is nil when no tariff applies.
func (b *Biller) SessionCost(ctx context.Context, sess domain.Session) (cost *pricing.Money, hasCDR bool, err error) {
	if sess.Status == domain.SessionCompleted {
		c, err := b.store.CDR(ctx, sess.ID)
		if err == nil {
			if c.Currency == "" {
				return nil, true, nil
			}
			return &pricing.Money{Currency: c.Currency, ExclVat: c.TotalExclVat, InclVat: c.TotalInclVat}, true, nil
		}
		if !errors.Is(err, domain.ErrNotFound) {
			return nil, false, err
		}
	}
	p, err := b.Price(ctx, sess)
	if err != nil || p == nil {
		return nil, false, err
	}
	m := p.Cost.Money()
	return &m, false, nil
}
