package sim

import (
	"sync"

	"github.com/opencpo/opencpo/internal/ocpp"
	"github.com/opencpo/opencpo/internal/ocpp/v201"
)

// CostReport is a price the CSMS told a 2.0.1 station: the running cost of a transaction
// (CostUpdated) or its final cost (totalCost in the answer to the Ended TransactionEvent).
type CostReport struct {
	TransactionID string
	TotalCost     float64
	Final         bool
}

// costLog keeps the costs a station was told, for tests and the demo to compare with the CSMS.
// Its own lock: it is written on the Run goroutine and read from anywhere.
type costLog struct {
	mu    sync.Mutex
	items []CostReport
}

func (c *costLog) add(r CostReport) {
	c.mu.Lock()
	c.items = append(c.items, r)
	c.mu.Unlock()
}

// Costs returns every cost the CSMS told the station so far, oldest first.
func (s *Station) Costs() []CostReport {
	s.costs.mu.Lock()
	defer s.costs.mu.Unlock()
	return append([]CostReport(nil), s.costs.items...)
}

// costUpdated201 accepts a CostUpdated (I02: the station shows the running cost) and records it.
func costUpdated201(s *Station, req any) (any, func(), *ocpp.CallError) {
	r := req.(*v201.CostUpdatedRequest)
	s.costs.add(CostReport{TransactionID: r.TransactionId, TotalCost: r.TotalCost})
	return v201.CostUpdatedResponse{}, nil, nil
}
