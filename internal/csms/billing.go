package csms

import (
	"context"
	"encoding/json"
	"errors"
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

// costJob is one piece of billing work done off the reply path.
type costJob struct {
	kind      jobKind
	stationID string
	sessionID int64
	sess      domain.Session  // jobPin, jobComplete: the session as committed
	choice    *billing.Choice // jobPin: the tariff already chosen, if it was
}

type jobKind int

const (
	jobCostUpdate jobKind = iota // send CostUpdated with the running cost
	jobPin                       // choose and pin a new session's tariff
	jobComplete                  // write a completed session's CDR
)

// enqueue hands a job to the workers; a full queue drops it (a missing pin is made up by the
// first pricing, a missing CDR by the sweep).
func (s *Service) enqueue(j costJob) bool {
	select {
	case s.costs.jobs <- j:
		return true
	default:
		return false
	}
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
					s.runJob(ctx, j)
				}
			}
		}()
	}
	wg.Wait()
}

func (s *Service) runJob(ctx context.Context, j costJob) {
	switch j.kind {
	case jobPin:
		var st domain.SessionTariff
		var err error
		if j.choice != nil {
			st, err = s.bill.PinChoice(ctx, j.sess, *j.choice)
		} else {
			st, err = s.bill.Pin(ctx, j.sess)
		}
		if err != nil {
			s.log.ErrorContext(ctx, "csms: pin tariff", "session", j.sess.ID, "err", err)
			return
		}
		if j.sess.Status == domain.SessionActive {
			s.costs.setTariffed(j.sess.ID, st.TariffID != "")
		}
	case jobComplete:
		s.complete(ctx, j.sess)
	default:
		s.sendCostUpdate(ctx, j)
	}
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

// afterTransaction queues a transactional message's billing once it is committed, so that no
// reply waits for it: pinning the tariff of a session that just started, writing the CDR of one
// that ended (or was superseded), a CostUpdated for a 2.0.1 session that sent meter values.
// What the reply itself needs is worked out here, from reads only: for an ended session its cost
// (the CDR will hold the same, priced from the same pinned tariff and samples).
func (s *Service) afterTransaction(ctx context.Context, o txOutcome, meterValues, is201 bool, choice *billing.Choice) *billing.Priced {
	if !o.applied {
		return nil
	}
	if o.superseded != 0 {
		s.costs.forget(o.superseded)
		if prev, err := s.store.Session(ctx, o.superseded); err == nil {
			s.enqueue(costJob{kind: jobComplete, sessionID: prev.ID, sess: prev})
		}
	}
	if o.isNew && !o.ended {
		s.enqueue(costJob{kind: jobPin, sessionID: o.sess.ID, sess: o.sess, choice: choice})
	}
	switch {
	case o.ended:
		s.costs.forget(o.sess.ID)
		var priced *billing.Priced
		if is201 {
			p, err := s.bill.Price(ctx, o.sess) // pins first when the session is new
			if err != nil {
				s.log.ErrorContext(ctx, "csms: price ended session", "session", o.sess.ID, "err", err)
			}
			priced = p
		}
		s.enqueue(costJob{kind: jobComplete, sessionID: o.sess.ID, sess: o.sess})
		return priced
	case is201 && meterValues && o.sess.Status == domain.SessionActive && s.sessionTariffed(ctx, o.sess.ID):
		if s.costs.due(o.sess.ID, s.now()) && !s.enqueue(costJob{kind: jobCostUpdate, stationID: o.sess.StationID, sessionID: o.sess.ID}) {
			s.costs.forget(o.sess.ID) // queue full: the next meter value tries again
		}
	}
	return nil
}

// repairCDRs writes the CDRs that a full job queue or a stop of the server left out, looking at
// the newest completed sessions.
func (s *Service) repairCDRs(ctx context.Context) {
	items, _, err := s.store.Sessions(ctx, domain.SessionFilter{Status: domain.SessionCompleted}, domain.Page{Limit: 200})
	if err != nil {
		return
	}
	for _, sess := range items {
		if _, err := s.store.CDR(ctx, sess.ID); errors.Is(err, domain.ErrNotFound) {
			s.complete(ctx, sess)
		}
	}
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
// as the CDR will have it) for an Ended event, the price as personalMessage where idTokenInfo is sent. A
// retransmission gets the answer stored with the first, which holds neither.
func (s *Service) billTransactionEvent(ctx context.Context, o txOutcome, req *v201.TransactionEventRequest, answer []byte) []byte {
	if !o.applied {
		return answer
	}
	// A new session with an idToken answer shows its price: choose now, once, and pin that.
	var choice *billing.Choice
	if o.isNew && !o.ended && o.sess.IDToken != "" {
		if c, err := s.bill.Choose(ctx, o.sess.StationID, o.sess.EVSEID, o.sess.IDToken, o.sess.StartedAt); err == nil {
			choice = &c
		}
	}
	priced := s.afterTransaction(ctx, o, len(req.MeterValue) > 0, true, choice)
	var resp v201.TransactionEventResponse
	if err := json.Unmarshal(answer, &resp); err != nil {
		return answer
	}
	changed := false
	if priced != nil {
		total := wireAmount(priced.Cost.Money().InclVat)
		resp.TotalCost, changed = &total, true
	}
	if resp.IdTokenInfo != nil && resp.IdTokenInfo.PersonalMessage == nil {
		var pinned domain.SessionTariff
		switch {
		case priced != nil:
			pinned = domain.SessionTariff{TariffID: priced.TariffID, Body: mustJSON(priced.Tariff)}
		case choice != nil:
			pinned = domain.SessionTariff{TariffID: choice.TariffID, Body: choice.Body}
		default:
			pinned, _ = s.store.SessionTariff(ctx, o.sess.ID) // later events with an idToken are few
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
