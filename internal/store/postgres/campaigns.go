package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opencpo/opencpo/internal/domain"
)

const campaignColumns = `id, name, firmware_url, signed, signing_certificate, signature, start_at, waves::text, failure_threshold,
	station_timeout_ms, status, wave, reason, actor, created_at, updated_at`

const targetColumns = `id, campaign_id, station_id, wave, status, station_status, error, sent_at, updated_at`

// CreateCampaign stores c and its targets in one transaction.
func (s *Store) CreateCampaign(ctx context.Context, c domain.Campaign) (domain.Campaign, error) {
	if err := errors.Join(c.ValidateNew(), checkTime("start", c.StartAt)); err != nil {
		return domain.Campaign{}, fmt.Errorf("postgres: create campaign: %w", err)
	}
	waves, _ := json.Marshal(c.Waves)
	now := pgTime(s.now())
	var out domain.Campaign
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = scanCampaign(tx.QueryRow(ctx, `INSERT INTO firmware_campaigns (name, firmware_url, signed, signing_certificate,
				signature, start_at, waves, failure_threshold, station_timeout_ms, status, wave, reason, actor, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10, 0, '', $11, $12, $12) RETURNING `+campaignColumns,
			c.Name, c.FirmwareURL, c.Signed, c.SigningCertificate, c.Signature, pgTime(c.StartAt), string(waves),
			c.FailureThreshold, c.StationTimeout.Milliseconds(), string(c.Status), c.Actor, now), 0)
		if err != nil {
			return err
		}
		for _, t := range c.Targets {
			tg, err := scanTarget(tx.QueryRow(ctx, `INSERT INTO campaign_targets (campaign_id, station_id, wave, status, updated_at)
				VALUES ($1, $2, $3, $4, $5) RETURNING `+targetColumns, out.ID, t.StationID, t.Wave, domain.TargetPending, now), 0)
			if err != nil {
				return mapErr(err, fmt.Sprintf("station %q is listed twice", t.StationID), fmt.Sprintf("station %q not found", t.StationID))
			}
			out.Targets = append(out.Targets, tg)
		}
		return nil
	})
	if err != nil {
		return domain.Campaign{}, fmt.Errorf("postgres: create campaign: %w", mapErr(err, "", ""))
	}
	return out, nil
}

// Campaign returns a campaign with its targets.
func (s *Store) Campaign(ctx context.Context, id int64) (domain.Campaign, error) {
	var c domain.Campaign
	err := s.readTx(ctx, func(tx pgx.Tx) error {
		var err error
		if c, err = scanCampaign(tx.QueryRow(ctx, `SELECT `+campaignColumns+` FROM firmware_campaigns WHERE id = $1`, id), id); err != nil {
			return err
		}
		c.Targets, err = loadTargets(ctx, tx, id)
		return err
	})
	if err != nil {
		return domain.Campaign{}, fmt.Errorf("postgres: campaign %d: %w", id, mapErr(err, "", ""))
	}
	return c, nil
}

func loadTargets(ctx context.Context, tx pgx.Tx, id int64) ([]domain.CampaignTarget, error) {
	rows, _ := tx.Query(ctx, `SELECT `+targetColumns+` FROM campaign_targets WHERE campaign_id = $1 ORDER BY wave, station_id`, id)
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
			return nil, "", fmt.Errorf("postgres: campaigns: %w", err)
		}
	}
	out, err := s.queryCampaigns(ctx, `SELECT `+campaignColumns+` FROM firmware_campaigns WHERE id < $1 ORDER BY id DESC LIMIT $2`,
		before, p.Limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("postgres: campaigns: %w", err)
	}
	next := ""
	if len(out) > p.Limit {
		out = out[:p.Limit]
		next = encodeCursor("campaign", strconv.FormatInt(out[len(out)-1].ID, 10))
	}
	return out, next, nil
}

func (s *Store) queryCampaigns(ctx context.Context, query string, args ...any) ([]domain.Campaign, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rows, _ := s.pool.Query(ctx, query, args...)
	defer rows.Close()
	var out []domain.Campaign
	for rows.Next() {
		c, err := scanCampaign(rows, 0)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// ActiveCampaigns lists scheduled and running campaigns with their targets.
func (s *Store) ActiveCampaigns(ctx context.Context) ([]domain.Campaign, error) {
	var out []domain.Campaign
	err := s.readTx(ctx, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `SELECT `+campaignColumns+` FROM firmware_campaigns WHERE status IN ('scheduled', 'running') ORDER BY id`)
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
			var err error
			if out[i].Targets, err = loadTargets(ctx, tx, out[i].ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: active campaigns: %w", err)
	}
	return out, nil
}

// SetCampaignState moves a campaign between states.
func (s *Store) SetCampaignState(ctx context.Context, id int64, from []domain.CampaignStatus, to domain.CampaignStatus, wave int, reason string) (domain.Campaign, error) {
	if !to.Valid() {
		return domain.Campaign{}, fmt.Errorf("postgres: campaign %d: %w", id, invalid("campaign status %q is unknown", to))
	}
	now := pgTime(s.now())
	var out domain.Campaign
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		cur, err := scanCampaign(tx.QueryRow(ctx, `SELECT `+campaignColumns+` FROM firmware_campaigns WHERE id = $1 FOR UPDATE`, id), id)
		if err != nil {
			return err
		}
		if len(from) > 0 && !containsCampaignStatus(from, cur.Status) {
			return domain.Errorf(domain.ErrConflict, "campaign %d is %s", id, cur.Status)
		}
		if out, err = scanCampaign(tx.QueryRow(ctx, `UPDATE firmware_campaigns SET status = $1, wave = $2, reason = $3, updated_at = $4
			WHERE id = $5 RETURNING `+campaignColumns, string(to), wave, reason, now, id), id); err != nil {
			return err
		}
		if to == domain.CampaignCancelled {
			if _, err := tx.Exec(ctx, `UPDATE campaign_targets SET status = 'cancelled', updated_at = $1 WHERE campaign_id = $2 AND status = 'pending'`, now, id); err != nil {
				return err
			}
		}
		out.Targets, err = loadTargets(ctx, tx, id)
		return err
	})
	if err != nil {
		return domain.Campaign{}, fmt.Errorf("postgres: campaign %d: %w", id, mapErr(err, "", ""))
	}
	return out, nil
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
		return fmt.Errorf("postgres: campaign target %d: %w", t.ID, invalid("target status %q is unknown", t.Status))
	}
	n, err := s.exec(ctx, `UPDATE campaign_targets SET status = $1, station_status = $2, error = $3, sent_at = $4, updated_at = $5
		WHERE id = $6 AND status NOT IN ('installed', 'failed', 'cancelled')`, t.Status, t.StationStatus, t.Error, nullTime(t.SentAt), pgTime(s.now()), t.ID)
	if err == nil && n == 0 {
		if _, cerr := s.CampaignTarget(ctx, t.ID); cerr == nil {
			err = domain.Errorf(domain.ErrConflict, "campaign target %d is already decided", t.ID)
		} else {
			err = domain.Errorf(domain.ErrNotFound, "campaign target %d not found", t.ID)
		}
	}
	if err != nil {
		return fmt.Errorf("postgres: campaign target %d: %w", t.ID, mapErr(err, "", ""))
	}
	return nil
}

// CampaignTarget returns one target.
func (s *Store) CampaignTarget(ctx context.Context, id int64) (domain.CampaignTarget, error) {
	return s.targetQuery(ctx, id, `id = $1`, id)
}

// UpdatingTarget returns the newest updating target of a station.
func (s *Store) UpdatingTarget(ctx context.Context, stationID string) (domain.CampaignTarget, error) {
	return s.targetQuery(ctx, 0, `station_id = $1 AND status = 'updating' ORDER BY id DESC LIMIT 1`, stationID)
}

func (s *Store) targetQuery(ctx context.Context, id int64, where string, args ...any) (domain.CampaignTarget, error) {
	if err := ctx.Err(); err != nil {
		return domain.CampaignTarget{}, fmt.Errorf("postgres: campaign target: %w", err)
	}
	t, err := scanTarget(s.pool.QueryRow(ctx, `SELECT `+targetColumns+` FROM campaign_targets WHERE `+where, args...), id)
	if err != nil {
		return domain.CampaignTarget{}, fmt.Errorf("postgres: campaign target: %w", mapErr(err, "", ""))
	}
	return t, nil
}

func scanCampaign(row pgx.Row, id int64) (domain.Campaign, error) {
	var (
		c             domain.Campaign
		waves, status string
		timeoutMS     int64
	)
	err := row.Scan(&c.ID, &c.Name, &c.FirmwareURL, &c.Signed, &c.SigningCertificate, &c.Signature, &c.StartAt, &waves,
		&c.FailureThreshold, &timeoutMS, &status, &c.Wave, &c.Reason, &c.Actor, &c.CreatedAt, &c.UpdatedAt)
	if isNoRows(err) {
		return domain.Campaign{}, domain.Errorf(domain.ErrNotFound, "campaign %d not found", id)
	}
	if err != nil {
		return domain.Campaign{}, err
	}
	c.Status = domain.CampaignStatus(status)
	c.StationTimeout = time.Duration(timeoutMS) * time.Millisecond
	c.StartAt, c.CreatedAt, c.UpdatedAt = c.StartAt.UTC(), c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return c, json.Unmarshal([]byte(waves), &c.Waves)
}

func scanTarget(row pgx.Row, id int64) (domain.CampaignTarget, error) {
	var (
		t    domain.CampaignTarget
		sent *time.Time
	)
	err := row.Scan(&t.ID, &t.CampaignID, &t.StationID, &t.Wave, &t.Status, &t.StationStatus, &t.Error, &sent, &t.UpdatedAt)
	if isNoRows(err) {
		return domain.CampaignTarget{}, domain.Errorf(domain.ErrNotFound, "campaign target %d not found", id)
	}
	if err != nil {
		return domain.CampaignTarget{}, err
	}
	t.SentAt, t.UpdatedAt = fromNull(sent), t.UpdatedAt.UTC()
	return t, nil
}
