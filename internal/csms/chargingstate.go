package csms

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
	"github.com/opencpo/opencpo/internal/ocpp/v16"
)

// chargingState16 maps the OCPP 1.6 connector statuses that say whether a transaction's EV is
// charging to the 2.0.1 charging states pricing reads. Finishing (the transaction stopped or
// the EV is leaving) is connected but not charging. Preparing comes before a start and the
// others say nothing about a running transaction: they are not recorded.
var chargingState16 = map[v16.StatusNotificationRequestStatus]string{
	v16.StatusNotificationRequestStatusCharging:      domain.ChargingStateCharging,
	v16.StatusNotificationRequestStatusSuspendedEV:   domain.ChargingStateSuspendedEV,
	v16.StatusNotificationRequestStatusSuspendedEVSE: domain.ChargingStateSuspendedEVSE,
	v16.StatusNotificationRequestStatusFinishing:     domain.ChargingStateEVConnected,
}

// recordState16 adds a 1.6 connector status to the charging-state timeline of the session
// active on that connector, in the exactly-once ledger: a retransmitted notification is stored
// once. A notification without timestamp is dated by the server, so two of them with the same
// payload are different messages: the server time goes into their ledger digest.
func (s *Service) recordState16(ctx context.Context, c *stationCall, req *v16.StatusNotificationRequest, state string, at time.Time) error {
	msg := messageOf(c)
	if req.Timestamp == nil {
		sum := sha256.Sum256(append([]byte(at.Format(time.RFC3339Nano)+"\n"), c.Payload...))
		msg.Digest = hex.EncodeToString(sum[:])
	}
	_, _, err := s.store.Apply(ctx, msg, func(tx domain.SessionTx) ([]byte, error) {
		sess, err := tx.ActiveSessionOn(c.Station.ID, req.ConnectorId)
		if errors.Is(err, domain.ErrNotFound) {
			return []byte(`{}`), nil
		}
		if err != nil {
			return nil, err
		}
		if at.Before(sess.StartedAt) {
			// A late status from before this session (a backlog of the previous one, or
			// Preparing-time news) says nothing about it.
			return []byte(`{}`), nil
		}
		return []byte(`{}`), tx.AddChargingStates([]domain.ChargingStateMark{{SessionID: sess.ID, At: at, State: state}})
	})
	return err
}
