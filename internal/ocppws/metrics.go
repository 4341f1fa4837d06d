package ocppws

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opencpo/opencpo/internal/ocpp"
)

// Label values. Action labels only ever hold names the CSMS knows (a CALL it answered with
// NotImplemented is counted under action ""), so a station cannot grow the label sets.
const (
	dirIn       = "in"
	dirOut      = "out"
	dirSent     = "sent"
	dirReceived = "received"
	msgInvalid  = "invalid"
	codeOther   = "other"
)

type metrics struct {
	connections  *prometheus.GaugeVec     // version
	messages     *prometheus.CounterVec   // direction, version, action, type
	callDuration *prometheus.HistogramVec // version, action
	callErrors   *prometheus.CounterVec   // direction, code
}

func newMetrics(reg prometheus.Registerer) *metrics {
	return &metrics{
		connections: register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "opencpo_ocpp_connections",
			Help: "Open OCPP WebSocket connections by OCPP version.",
		}, []string{"version"})),
		messages: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "opencpo_ocpp_messages_total",
			Help: "OCPP-J frames received (direction=in) and sent (out) by version, action and message type (CALL, CALLRESULT, CALLERROR, invalid).",
		}, []string{"direction", "version", "action", "type"})),
		callDuration: register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "opencpo_ocpp_call_duration_seconds",
			Help:    "Time from sending a CSMS-initiated CALL to the station's answer.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"version", "action"})),
		callErrors: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "opencpo_ocpp_call_errors_total",
			Help: "CALLERRORs sent to and received from stations by canonical error code.",
		}, []string{"direction", "code"})),
	}
}

// register registers c on reg, reusing an identical collector registered before (several
// Servers on one registry, as in tests).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if reg == nil {
		return c
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(fmt.Sprintf("ocppws: registering metrics: %v", err))
	}
	return c
}

func (m *metrics) messageIn(v ocpp.Version, action, typ string) {
	m.messages.WithLabelValues(dirIn, string(v), action, typ).Inc()
}

func (m *metrics) messageOut(v ocpp.Version, action, typ string) {
	m.messages.WithLabelValues(dirOut, string(v), action, typ).Inc()
}

func (m *metrics) callError(direction string, code ocpp.ErrorCode) {
	label := codeOther
	if code.Known() {
		label = string(code)
	}
	m.callErrors.WithLabelValues(direction, label).Inc()
}
