package billing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
	"github.com/opencpo/opencpo/internal/pricing"
	"github.com/shopspring/decimal"
)

// CDRRecord is the body of a CDR: OCPI 2.2.1 CDR fields (charging periods, total energy, time
// and parking time and their costs) in the API's camelCase. Volumes are decimal strings: energy
// in kWh, times in hours, as OCPI has them.
type CDRRecord struct {
	ID                string          `json:"id"`
	SessionID         string          `json:"sessionId"`
	StationID         string          `json:"stationId"`
	EVSEID            int             `json:"evseId"`
	ConnectorID       int             `json:"connectorId"`
	TransactionID     string          `json:"transactionId"`
	IDToken           string          `json:"idToken"`
	IDTokenType       string          `json:"idTokenType,omitempty"`
	StartDateTime     time.Time       `json:"startDateTime"`
	EndDateTime       time.Time       `json:"endDateTime"`
	StopReason        string          `json:"stopReason,omitempty"`
	EnergyWh          float64         `json:"energyWh"`
	MeterStartWh      *float64        `json:"meterStartWh"`
	MeterStopWh       *float64        `json:"meterStopWh"`
	TariffID          string          `json:"tariffId,omitempty"`
	TimeZone          string          `json:"timeZone,omitempty"`
	Tariff            json.RawMessage `json:"tariff,omitempty"` // the OCPI tariff as priced
	Currency          string          `json:"currency,omitempty"`
	ChargingPeriods   []CDRPeriod     `json:"chargingPeriods"`
	TotalEnergy       string          `json:"totalEnergy"`       // kWh
	TotalTime         string          `json:"totalTime"`         // hours, charging and parking
	TotalChargingTime string          `json:"totalChargingTime"` // hours
	TotalParkingTime  string          `json:"totalParkingTime"`  // hours
	TotalCost         *pricing.Money  `json:"totalCost,omitempty"`
	TotalFixedCost    *pricing.Money  `json:"totalFixedCost,omitempty"`
	TotalEnergyCost   *pricing.Money  `json:"totalEnergyCost,omitempty"`
	TotalTimeCost     *pricing.Money  `json:"totalTimeCost,omitempty"`
	TotalParkingCost  *pricing.Money  `json:"totalParkingCost,omitempty"`
	MinPriceApplied   bool            `json:"minPriceApplied,omitempty"`
	MaxPriceApplied   bool            `json:"maxPriceApplied,omitempty"`
	Flag              string          `json:"flag,omitempty"`
	LastUpdated       time.Time       `json:"lastUpdated"`
}

// CDRPeriod is one OCPI ChargingPeriod: a stretch priced by one tariff element, with the volume
// it consumed and what that cost.
type CDRPeriod struct {
	StartDateTime time.Time      `json:"startDateTime"`
	EndDateTime   time.Time      `json:"endDateTime"`
	TariffElement int            `json:"tariffElement"`
	Dimensions    []CDRDimension `json:"dimensions"`
	Cost          pricing.Money  `json:"cost"` // exact amounts of the line, rounded for display
}

// CDRDimension is one OCPI CdrDimension: ENERGY in kWh, TIME and PARKING_TIME in hours, FLAT 1.
type CDRDimension struct {
	Type   string `json:"type"`
	Volume string `json:"volume"`
	Billed string `json:"billedVolume"`
}

var hourDec = decimal.NewFromInt(int64(time.Hour))

func hours(d time.Duration) string {
	return decimal.NewFromInt(int64(d)).DivRound(hourDec, 6).String()
}

// Complete writes the CDR of a completed session (once: a CDR is never changed) and returns it.
func (b *Biller) Complete(ctx context.Context, sess domain.Session) (domain.CDR, error) {
	if sess.Status != domain.SessionCompleted {
		return domain.CDR{}, domain.Errorf(domain.ErrConflict, "session %d is still active", sess.ID)
	}
	if c, err := b.store.CDR(ctx, sess.ID); err == nil {
		return c, nil
	} else if !errors.Is(err, domain.ErrNotFound) {
		return domain.CDR{}, err
	}
	priced, err := b.Price(ctx, sess)
	if err != nil {
		return domain.CDR{}, err
	}
	rec := BuildCDR(sess, priced, b.now().UTC())
	body, err := json.Marshal(rec)
	if err != nil {
		return domain.CDR{}, fmt.Errorf("billing: encode CDR: %w", err)
	}
	c := domain.CDR{ID: rec.ID, SessionID: sess.ID, StationID: sess.StationID, EVSEID: sess.EVSEID, IDToken: sess.IDToken,
		StartedAt: sess.StartedAt, StoppedAt: sess.StoppedAt, EnergyWh: sess.EnergyWh, Body: body, CreatedAt: rec.LastUpdated}
	if rec.TotalCost != nil {
		c.Currency, c.TotalExclVat, c.TotalInclVat = rec.Currency, rec.TotalCost.ExclVat, rec.TotalCost.InclVat
	}
	return b.store.AddCDR(ctx, c)
}

// CDRID is the id of a session's CDR.
func CDRID(sessionID int64) string { return "CDR-" + strconv.FormatInt(sessionID, 10) }

// BuildCDR assembles the CDR record of a completed session; priced is nil when no tariff applied.
func BuildCDR(sess domain.Session, priced *Priced, now time.Time) CDRRecord {
	rec := CDRRecord{ID: CDRID(sess.ID), SessionID: strconv.FormatInt(sess.ID, 10), StationID: sess.StationID,
		EVSEID: sess.EVSEID, ConnectorID: sess.ConnectorID, TransactionID: sess.TransactionID, IDToken: sess.IDToken,
		IDTokenType: sess.IDTokenType, StartDateTime: sess.StartedAt.UTC(), EndDateTime: sess.StoppedAt.UTC(),
		StopReason: sess.StopReason, EnergyWh: sess.EnergyWh, MeterStartWh: sess.MeterStartWh, MeterStopWh: sess.MeterStopWh,
		ChargingPeriods: []CDRPeriod{}, Flag: sess.Flag, LastUpdated: now}
	total := sess.StoppedAt.Sub(sess.StartedAt)
	if total < 0 {
		total = 0
	}
	rec.TotalTime = hours(total)
	rec.TotalEnergy = decimal.NewFromFloat(sess.EnergyWh).Shift(-3).String()
	rec.TotalChargingTime, rec.TotalParkingTime = hours(0), hours(total)
	if priced == nil {
		return rec
	}
	c := priced.Cost
	cur := c.Currency
	n, _ := pricing.MinorUnits(cur)
	money := func(excl, incl decimal.Decimal) *pricing.Money {
		return &pricing.Money{Currency: cur, ExclVat: excl.Round(n).StringFixed(n), InclVat: incl.Round(n).StringFixed(n)}
	}
	rec.TariffID, rec.TimeZone, rec.Currency = priced.TariffID, priced.TimeZone, cur
	if body, err := json.Marshal(priced.Tariff); err == nil {
		rec.Tariff = body
	}
	rec.TotalEnergy = c.EnergyWh.Shift(-3).String()
	rec.TotalChargingTime, rec.TotalParkingTime = hours(c.ChargingTime), hours(c.ParkingTime)
	m := c.Money()
	rec.TotalCost = &m
	sums := map[pricing.Dimension][2]decimal.Decimal{}
	for _, l := range c.Breakdown {
		s := sums[l.Dimension]
		sums[l.Dimension] = [2]decimal.Decimal{s[0].Add(l.ExclVat), s[1].Add(l.InclVat)}
		rec.ChargingPeriods = append(rec.ChargingPeriods, CDRPeriod{StartDateTime: l.From.UTC(), EndDateTime: l.To.UTC(),
			TariffElement: l.ElementIndex, Dimensions: []CDRDimension{{Type: string(l.Dimension), Volume: l.Used.String(), Billed: l.Volume.String()}},
			Cost: *money(l.ExclVat, l.InclVat)})
	}
	for dim, dst := range map[pricing.Dimension]**pricing.Money{pricing.DimensionFlat: &rec.TotalFixedCost,
		pricing.DimensionEnergy: &rec.TotalEnergyCost, pricing.DimensionTime: &rec.TotalTimeCost, pricing.DimensionParkingTime: &rec.TotalParkingCost} {
		s := sums[dim]
		*dst = money(s[0], s[1])
	}
	rec.MinPriceApplied, rec.MaxPriceApplied = c.MinPriceApplied, c.MaxPriceApplied
	return rec
}
