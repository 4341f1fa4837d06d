package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
)

const campaignColumns = `id, name, firmware_url, signed, signing_certificate, signature, start_at, waves, failure_threshold,
	station_timeout_ms, status, wave, reason, actor, created_at, updated_at`

const targetColumns = `id, campaign_id, station_id, wave, status, station_status, error, sent_at, updated_at`

// CreateCampaign stores c and its targets in one transaction.
func (s *Store) CreateCampaign(ctx context.Context, c domain.Campaign) (domain.Campaign, error) {
	if err := errors.Join(c.ValidateNew(), checkTime("start", c.StartAt)); err != nil {
		return domain.Campaign{}, fmt.Errorf("sqlite: create campaign: %w", err)
	}
	waves, _ := json.Marshal(c.Waves)
	now := formatTime(s.now())
	return writeValue(ctx, s, func(tx *sql.Tx) (domain.Campaign, error) {
		out, err := scanCampaign(tx.QueryRow(`INSERT INTO firmware_campaigns (name, firmware_url, signed, signing_certificate,
				signature, start_at, waves, failure_threshold, station_timeout_ms, status, wave, reason, actor, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, '', ?, ?, ?) RETURNING `+campaignColumns,
			c.Name, c.FirmwareURL, c.Signed, c.SigningCertificate, c.Signature, formatTime(c.StartAt), string(waves),
			c.FailureThreshold, c.StationTimeout.Milliseconds(), string(c.Status), c.Actor, now, now), 0)
		if err != nil {
			return domain.Campaign{}, fmt.Errorf("sqlite: create campaign: %w", err)
		}
		for _, t := range c.Targets {
			tg, err := scanTarget(tx.QueryRow(`INSERT INTO campaign_targets (campaign_id, station_id, wave, status, updated_at)
				VALUES (?, ?, ?, ?, ?) RETURNING `+targetColumns, out.ID, t.StationID, t.Wave, domain.TargetPending, now), 0)
			if err != nil {
				return domain.Campaign{}, fmt.Errorf("sqlite: create campaign: %w",
					mapErr(err, fmt.Sprintf("station %q is listed twice", t.StationID), fmt.Sprintf("station %q not found", t.StationID)))
			}
			out.Targets = append(out.Targets, tg)
		}
		return out, nil
	})
}

// Campaign returns a campaign with its targets.
func (s *Store) Campaign(ctx context.Context, id int64) (domain.Campaign, error) {
	var c domain.Campaign
	err := s.read(ctx, func(tx *sql.Tx) error {
		var err error
		if c, err = scanCampaign(tx.QueryRowContext(ctx, `SELECT `+campaignColumns+` FROM firmware_campaigns WHERE id = ?`, id), id); err != nil {
			return err
		}
		c.Targets, err = loadTargets(ctx, tx, id)
		return err
	})
	if err != nil {
		return domain.Campaign{}, fmt.Errorf("sqlite: campaign %d: %w", id, err)
	}
	return c, nil
}

func loadTargets(ctx context.Context, tx *sql.Tx, id int64) ([]domain.CampaignTarget, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+targetColumns+` FROM campaign_targets WHERE campaign_id = ? ORDER BY wave, station_id`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []domain.CampaignTarget
	for rows.Next() {
		t, err := scanTarget(rows, 0)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// Campaigns lists campaigns newest first.
func (s *Store) Campaigns(ctx context.Context, p domain.Page) ([]domain.Campaign, string, error) {
	p = p.Normalized()
	before := int64(math.MaxInt64)
	if p.Cursor != "" {
		var err error
		if before, err = decodeIDCursor("campaign", p.Cursor); err != nil {
			return nil, "", fmt.Errorf("sqlite: campaigns: %w", err)
		}
	}
	var out []domain.Campaign
	err := s.read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+campaignColumns+` FROM firmware_campaigns WHERE id < ? ORDER BY id DESC LIMIT ?`,
			before, p.Limit+1)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			c, err := scanCampaign(rows, 0)
			if err != nil {
				return err
			}
			out = append(out, c)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, "", fmt.Errorf("sqlite: campaigns: %w", err)
	}
	next := ""
	if len(out) > p.Limit {
		out = out[:p.Limit]
		next = encodeCursor("campaign", strconv.FormatInt(out[len(out)-1].ID, 10))
	}
	return out, next, nil
}

// ActiveCampaigns lists scheduled and running campaigns with their targets.
func (s *Store) ActiveCampaigns(ctx context.Context) ([]domain.Campaign, error) {
	var out []domain.Campaign
	err := s.read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+campaignColumns+` FROM firmware_campaigns
			WHERE status IN ('scheduled', 'running') ORDER BY id`)
		if err != nil {
			return err
		}
		for rows.Next() {
			c, err := scanCampaign(rows, 0)
			if err != nil {
				rows.Close()
				return err
			}
			out = append(out, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for i := range out {
			if out[i].Targets, err = loadTargets(ctx, tx, out[i].ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: active campaigns: %w", err)
	}
	return out, nil
}

// SetCampaignState moves a campaign between states.
func (s *Store) SetCampaignState(ctx context.Context, id int64, from []domain.CampaignStatus, to domain.CampaignStatus, wave int, reason string) (domain.Campaign, error) {
	if !to.Valid() {
		return domain.Campaign{}, fmt.Errorf("sqlite: campaign %d: %w", id, invalid("campaign status %q is unknown", to))
	}
	now := formatTime(s.now())
	return writeValue(ctx, s, func(tx *sql.Tx) (domain.Campaign, error) {
		cur, err := scanCampaign(tx.QueryRow(`SELECT `+campaignColumns+` FROM firmware_campaigns WHERE id = ?`, id), id)
		if err != nil {
			return domain.Campaign{}, fmt.Errorf("sqlite: campaign %d: %w", id, err)
		}
		if len(from) > 0 && !containsCampaignStatus(from, cur.Status) {
			return domain.Campaign{}, fmt.Errorf("sqlite: campaign %d: %w", id, domain.Errorf(domain.ErrConflict, "campaign %d is %s", id, cur.Status))
		}
		out, err := scanCampaign(tx.QueryRow(`UPDATE firmware_campaigns SET status = ?, wave = ?, reason = ?, updated_at = ?
			WHERE id = ? RETURNING `+campaignColumns, string(to), wave, reason, now, id), id)
		if err != nil {
			return domain.Campaign{}, fmt.Errorf("sqlite: campaign %d: %w", id, err)
		}
		if to == domain.CampaignCancelled {
			if _, err := tx.Exec(`UPDATE campaign_targets SET status = 'cancelled', updated_at = ? WHERE campaign_id = ? AND status = 'pending'`, now, id); err != nil {
				return domain.Campaign{}, fmt.Errorf("sqlite: campaign %d: %w", id, err)
			}
		}
		if out.Targets, err = loadTargets(ctx, tx, id); err != nil {
			return domain.Campaign{}, fmt.Errorf("sqlite: campaign %d: %w", id, err)
		}
		return out, nil
	})
}

func containsCampaignStatus(list []domain.CampaignStatus, s domain.CampaignStatus) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// UpdateTarget writes a target's state.
func (s *Store) UpdateTarget(ctx context.Context, t domain.CampaignTarget) error {
	if !domain.ValidTargetStatus(t.Status) {
		return fmt.Errorf("sqlite: campaign target %d: %w", t.ID, invalid("target status %q is unknown", t.Status))
	}
	now := formatTime(s.now())
	return s.write(ctx, func(tx *sql.Tx) error {
		n, err := rowsAffected(tx.Exec(`UPDATE campaign_targets SET status = ?, station_status = ?, error = ?, sent_at = ?, updated_at = ?
			WHERE id = ? AND status NOT IN ('installed', 'failed', 'cancelled')`, t.Status, t.StationStatus, t.Error, nullTime(t.SentAt), now, t.ID))
		if err == nil && n == 0 {
			var one int
			if tx.QueryRow(`SELECT 1 FROM campaign_targets WHERE id = ?`, t.ID).Scan(&one) == nil {
				err = domain.Errorf(domain.ErrConflict, "campaign target %d is already decided", t.ID)
			} else {
				err = domain.Errorf(domain.ErrNotFound, "campaign target %d not found", t.ID)
			}
		}
		if err != nil {
			return fmt.Errorf("sqlite: campaign target %d: %w", t.ID, err)
		}
		return nil
	})
}

// CampaignTarget returns one target.
func (s *Store) CampaignTarget(ctx context.Context, id int64) (domain.CampaignTarget, error) {
	return s.targetQuery(ctx, id, `id = ?`, id)
}

// UpdatingTarget returns the newest updating target of a station.
func (s *Store) UpdatingTarget(ctx context.Context, stationID string) (domain.CampaignTarget, error) {
	return s.targetQuery(ctx, 0, `station_id = ? AND status = 'updating' ORDER BY id DESC LIMIT 1`, stationID)
}

func (s *Store) targetQuery(ctx context.Context, id int64, where string, args ...any) (domain.CampaignTarget, error) {
	var t domain.CampaignTarget
	err := s.read(ctx, func(tx *sql.Tx) error {
		var err error
		t, err = scanTarget(tx.QueryRowContext(ctx, `SELECT `+targetColumns+` FROM campaign_targets WHERE `+where, args...), id)
		return err
	})
	if err != nil {
		return domain.CampaignTarget{}, fmt.Errorf("sqlite: campaign target: %w", err)
	}
	return t, nil
}

func scanCampaign(row scanner, id int64) (domain.Campaign, error) {
	var (
		c                    domain.Campaign
		start, waves, status string
		created, updated     string
		timeoutMS            int64
	)
	err := row.Scan(&c.ID, &c.Name, &c.FirmwareURL, &c.Signed, &c.SigningCertificate, &c.Signature, &start, &waves,
		&c.FailureThreshold, &timeoutMS, &status, &c.Wave, &c.Reason, &c.Actor, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return domain.Campaign{}, domain.Errorf(domain.ErrNotFound, "campaign %d not found", id)
	}
	if err != nil {
		return domain.Campaign{}, err
	}
	c.Status = domain.CampaignStatus(status)
	c.StationTimeout = time.Duration(timeoutMS) * time.Millisecond
	var errs [4]error
	errs[0] = json.Unmarshal([]byte(waves), &c.Waves)
	c.StartAt, errs[1] = parseTime(start)
	c.CreatedAt, errs[2] = parseTime(created)
	c.UpdatedAt, errs[3] = parseTime(updated)
	return c, errors.Join(errs[:]...)
}

func scanTarget(row scanner, id int64) (domain.CampaignTarget, error) {
	var (
		t       domain.CampaignTarget
		sent    sql.NullString
		updated string
	)
	err := row.Scan(&t.ID, &t.CampaignID, &t.StationID, &t.Wave, &t.Status, &t.StationStatus, &t.Error, &sent, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return domain.CampaignTarget{}, domain.Errorf(domain.ErrNotFound, "campaign target %d not found", id)
	}
	if err != nil {
		return domain.CampaignTarget{}, err
	}
	var err1, err2 error
	t.SentAt, err1 = parseNullTime(sent)
	t.UpdatedAt, err2 = parseTime(updated)
	return t, errors.Join(err1, err2)
}
