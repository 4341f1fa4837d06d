package csms

import (
	"math"
	"strconv"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
	"github.com/opencpo/opencpo/internal/ocpp"
	"github.com/opencpo/opencpo/internal/ocpp/v16"
	"github.com/opencpo/opencpo/internal/ocpp/v201"
)

const (
	measurandEnergyImport = "Energy.Active.Import.Register"
	contextTxBegin        = "Transaction.Begin"
	contextTxEnd          = "Transaction.End"
)

// sampled16 is an OCPP 1.6 sampledValue. The schemas give MeterValues and StopTransaction
// distinct (but same-shaped) generated types, so both are read into this one.
type sampled16 struct {
	Value, Context, Format, Measurand, Phase, Location, Unit string
}

func fromMeterValues16(in []v16.SampledValue) []sampled16 {
	out := make([]sampled16, len(in))
	for i, sv := range in {
		out[i] = sampled16{sv.Value, string(sv.Context), string(sv.Format), string(sv.Measurand), string(sv.Phase), string(sv.Location), string(sv.Unit)}
	}
	return out
}

func fromTransactionData16(in []v16.TransactionDataSampledValue) []sampled16 {
	out := make([]sampled16, len(in))
	for i, sv := range in {
		out[i] = sampled16{sv.Value, string(sv.Context), string(sv.Format), string(sv.Measurand), string(sv.Phase), string(sv.Location), string(sv.Unit)}
	}
	return out
}

// samples16 turns one OCPP 1.6 meter value into samples, filling in the defaults the spec gives
// for absent fields.
func samples16(stationID string, evseID int, at time.Time, values []sampled16) ([]domain.MeterSample, error) {
	out := make([]domain.MeterSample, 0, len(values))
	for i, sv := range values {
		m := domain.MeterSample{
			StationID: stationID, EVSEID: evseID, At: at.UTC(),
			Measurand: orDefault(sv.Measurand, measurandEnergyImport),
			Phase:     sv.Phase, Location: orDefault(sv.Location, "Outlet"),
			Context: orDefault(sv.Context, "Sample.Periodic"), Unit: orDefault(sv.Unit, "Wh"),
		}
		if sv.Format == "SignedData" {
			m.Signed = []byte(sv.Value)
		} else {
			v, err := strconv.ParseFloat(sv.Value, 64)
			if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
				return nil, ocpp.Errorf(ocpp.PropertyConstraintViolation, "sampledValue[%d].value %q is not a decimal number", i, sv.Value)
			}
			m.Value = v
		}
		out = append(out, m)
	}
	return out, nil
}

// samples201 turns one OCPP 2.0.1 meter value into samples; the unit multiplier is applied so
// that stored values are in the plain unit.
func samples201(stationID string, evseID int, mv v201.MeterValueType) []domain.MeterSample {
	out := make([]domain.MeterSample, 0, len(mv.SampledValue))
	for _, sv := range mv.SampledValue {
		unit, mult := "Wh", 0
		if u := sv.UnitOfMeasure; u != nil {
			unit = orDefault(u.Unit, "Wh")
			if u.Multiplier != nil {
				mult = *u.Multiplier
			}
		}
		m := domain.MeterSample{
			StationID: stationID, EVSEID: evseID, At: mv.Timestamp.UTC(),
			Measurand: orDefault(string(sv.Measurand), measurandEnergyImport),
			Phase:     string(sv.Phase), Location: orDefault(string(sv.Location), "Outlet"),
			Context: orDefault(string(sv.Context), "Sample.Periodic"), Unit: unit,
			Value: sv.Value * math.Pow10(mult),
		}
		if sv.SignedMeterValue != nil {
			m.Signed = mustJSON(sv.SignedMeterValue)
		}
		out = append(out, m)
	}
	return out
}

// energyWh reports whether a sample is a reading of the total imported energy register, and its
// value in Wh.
func energyWh(m domain.MeterSample) (float64, bool) {
	if m.Measurand != measurandEnergyImport || m.Phase != "" || m.Signed != nil && m.Value == 0 {
		return 0, false
	}
	if m.Location != "Outlet" && m.Location != "" {
		return 0, false
	}
	switch m.Unit {
	case "Wh":
		return m.Value, true
	case "kWh":
		return m.Value * 1000, true
	}
	return 0, false
}

// foldSamples adds samples' energy readings to a session and notes the stop reading.
func foldSamples(sess *domain.Session, samples []domain.MeterSample) {
	for _, m := range samples {
		wh, ok := energyWh(m)
		if !ok {
			continue
		}
		if sess.Status == domain.SessionCompleted && m.At.After(sess.StoppedAt) {
			continue
		}
		sess.AddReading(wh, m.At)
		if m.Context == contextTxEnd {
			sess.MeterStopWh = &wh
		}
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
