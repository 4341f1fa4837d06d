package csms

import (
	"context"
	"encoding/json"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/opencpo/opencpo/internal/billing"
	"github.com/opencpo/opencpo/internal/domain"
	"github.com/opencpo/opencpo/internal/ocpp/v201"
	"github.com/shopspring/decimal"
)

// ActorBilling is the audit actor of the calls the central system sends on its own to tell a
// station the cost of a running transaction.
const ActorBilling = "system:billing"

// txOutcome is what a transactional message did to sessions, captured inside Apply for the
// billing work that follows the commit.
type txOutcome struct {
	sess       domain.Session
	applied    bool // fn ran and committed (not a retransmission)
	isNew      bool
	ended      bool
	superseded int64 // a session the message's start closed, 0 if none
}

// costUpdates sends 2.0.1 CostUpdated to stations while they charge: on a meter value, at most
// once per interval per session, from worker goroutines that Run owns, so that no reply waits
// for pricing or for the station's answer.
type costUpdates struct {
	every time.Duration
	jobs  chan costJob
	mu    sync.Mutex
	last  map[int64]time.Time // session → when its last CostUpdated was queued
	// tariffed remembers whether an active session has a pinned tariff, so that a meter value
	// costs no store read to find out.
	tariffed map[int64]bool
}

type costJob struct {
	stationID string
	sessionID int64
}

func newCostUpdates(every time.Duration) *costUpdates {
	return &costUpdates{every: every, jobs: make(chan costJob, 1024), last: map[int64]time.Time{}, tariffed: map[int64]bool{}}
}

// due reports whether a session may get a CostUpdated now, and if so marks it sent.
func (c *costUpdates) due(sessionID int64, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if last, ok := c.last[sessionID]; ok && now.Sub(last) < c.every {
		return false
	}
	c.last[sessionID] = now
	return true
}

func (c *costUpdates) forget(sessionID int64) {
	c.mu.Lock()
	delete(c.last, sessionID)
	delete(c.tariffed, sessionID)
	c.mu.Unlock()
}

func (c *costUpdates) setTariffed(sessionID int64, yes bool) {
	c.mu.Lock()
	c.tariffed[sessionID] = yes
	c.mu.Unlock()
}

func (c *costUpdates) isTariffed(sessionID int64) (yes, known bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	yes, known = c.tariffed[sessionID]
	return yes, known
}

// sessionTariffed reports whether a session has a pinned tariff, from memory when it can.
func (s *Service) sessionTariffed(ctx context.Context, sessionID int64) bool {
	if yes, known := s.costs.isTariffed(sessionID); known {
		return yes
	}
	st, err := s.store.SessionTariff(ctx, sessionID)
	if err != nil {
		return false // not pinned yet (or unreadable): the next meter value asks again
	}
	s.costs.setTariffed(sessionID, st.TariffID != "")
	return st.TariffID != ""
}

// runCostUpdates works through the queued CostUpdated jobs until ctx ends.
func (s *Service) runCostUpdates(ctx context.Context) {
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case j := <-s.costs.jobs:
					s.sendCostUpdate(ctx, j)
				}
			}
		}()
	}
	wg.Wait()
}

func (s *Service) sendCostUpdate(ctx context.Context, j costJob) {
	sess, err := s.store.Session(ctx, j.sessionID)
	if err != nil || sess.Status != domain.SessionActive {
		return
	}
	p, err := s.bill.Price(ctx, sess)
	if err != nil {
		s.log.ErrorContext(ctx, "csms: price session for CostUpdated", "session", sess.ID, "err", err)
		return
	}
	if p == nil {
		return
	}
	total := p.Cost.Money().InclVat
	payload, _ := json.Marshal(v201.CostUpdatedRequest{TotalCost: wireAmount(total), TransactionId: sess.TransactionID})
	callCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := s.Call(callCtx, ActorBilling, j.stationID, "CostUpdated", payload); err != nil && ctx.Err() == nil {
		s.log.WarnContext(ctx, "csms: CostUpdated", "station", j.stationID, "session", sess.ID, "err", err)
	}
}

// wireAmount turns a rounded decimal amount into the JSON number OCPP carries. The decimal text
// (at most a few places) converts to the float64 whose shortest form is that same text, so the
// frame says exactly "5.95".
func wireAmount(s string) float64 {
	d, err := decimal.NewFromString(s)
	if err != nil {
		return 0
	}
	return d.InexactFloat64()
}

// afterTransaction does a transactional message's billing once it is committed: pins the tariff
// of a session that just started, writes the CDR of one that ended (or was superseded), and
// queues a CostUpdated for a 2.0.1 session that sent meter values. It returns the tariff it
// pinned (zero unless the session is new) and, for an ended session, its CDR. Failures are
// logged: billing never fails a station's message, and a missing pin or CDR is made up later
// (billing.Price pins lazily; Complete is idempotent).
func (s *Service) afterTransaction(ctx context.Context, o txOutcome, meterValues, is201 bool) (domain.SessionTariff, *domain.CDR) {
	var pinned domain.SessionTariff
	var cdr *domain.CDR
	if !o.applied {
		return pinned, nil
	}
	if o.superseded != 0 {
		s.costs.forget(o.superseded)
		if prev, err := s.store.Session(ctx, o.superseded); err == nil {
			s.complete(ctx, prev)
		}
	}
	if o.isNew {
		st, err := s.bill.Pin(ctx, o.sess)
		if err != nil {
			s.log.ErrorContext(ctx, "csms: pin tariff", "session", o.sess.ID, "err", err)
		} else if !o.ended && is201 {
			s.costs.setTariffed(o.sess.ID, st.TariffID != "")
		}
		pinned = st
	}
	switch {
	case o.ended:
		s.costs.forget(o.sess.ID)
		cdr = s.complete(ctx, o.sess)
	case is201 && meterValues && o.sess.Status == domain.SessionActive && s.sessionTariffed(ctx, o.sess.ID):
		if s.costs.due(o.sess.ID, s.now()) {
			select {
			case s.costs.jobs <- costJob{stationID: o.sess.StationID, sessionID: o.sess.ID}:
			default:
				s.costs.forget(o.sess.ID) // queue full: the next meter value tries again
			}
		}
	}
	return pinned, cdr
}

func (s *Service) complete(ctx context.Context, sess domain.Session) *domain.CDR {
	c, err := s.bill.Complete(ctx, sess)
	if err != nil {
		s.log.ErrorContext(ctx, "csms: write CDR", "session", sess.ID, "err", err)
		return nil
	}
	return &c
}

// priceMessage is the price of a tariff as an OCPP 2.0.1 personal message (English; the
// content is at most 512 characters, as the schema allows).
func priceMessage(st domain.SessionTariff) *v201.MessageContentType {
	if st.TariffID == "" {
		return nil
	}
	t, err := billing.DecodeTariff(st.Body)
	if err != nil {
		return nil
	}
	text := billing.Describe(t, "en").Text
	for len(text) > 512 {
		_, size := utf8.DecodeLastRuneInString(text)
		text = text[:len(text)-size]
	}
	return &v201.MessageContentType{Format: v201.MessageFormatEnumTypeUTF8, Language: "en", Content: text}
}

// billTransactionEvent adds the billing to a TransactionEvent's answer: totalCost (incl. VAT,
// the CDR's) for an Ended event, the price as personalMessage where idTokenInfo is sent. A
// retransmission gets the answer stored with the first, which holds neither.
func (s *Service) billTransactionEvent(ctx context.Context, o txOutcome, req *v201.TransactionEventRequest, answer []byte) []byte {
	pinned, cdr := s.afterTransaction(ctx, o, len(req.MeterValue) > 0, true)
	if !o.applied {
		return answer
	}
	var resp v201.TransactionEventResponse
	if err := json.Unmarshal(answer, &resp); err != nil {
		return answer
	}
	changed := false
	if cdr != nil && cdr.Currency != "" {
		total := wireAmount(cdr.TotalInclVat)
		resp.TotalCost, changed = &total, true
	}
	if resp.IdTokenInfo != nil && resp.IdTokenInfo.PersonalMessage == nil {
		if !o.isNew {
			pinned, _ = s.store.SessionTariff(ctx, o.sess.ID) // events with an idToken are few
		}
		if msg := priceMessage(pinned); msg != nil {
			resp.IdTokenInfo.PersonalMessage, changed = msg, true
		}
	}
	if !changed {
		return answer
	}
	out, err := json.Marshal(resp)
	if err != nil {
		return answer
	}
	return out
}

// authorizePrice adds the price of the tariff a session started now would get (station-wide,
// as Authorize names no EVSE) to an accepted 2.0.1 Authorize answer.
func (s *Service) authorizePrice(ctx context.Context, stationID string, info *v201.IdTokenInfoType, idToken string) {
	if info.Status != v201.AuthorizationStatusEnumTypeAccepted {
		return
	}
	c, err := s.bill.Choose(ctx, stationID, 0, idToken, s.now())
	if err != nil || c.TariffID == "" {
		return
	}
	info.PersonalMessage = priceMessage(domain.SessionTariff{TariffID: c.TariffID, Body: c.Body})
}
