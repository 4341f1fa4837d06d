package api

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
)

// Campaigns are what the API needs for firmware campaigns (implemented by csms.Service).
type Campaigns interface {
	CreateCampaign(ctx context.Context, actor string, spec domain.CampaignSpec) (domain.Campaign, error)
	ResumeCampaign(ctx context.Context, actor string, id int64) (domain.Campaign, error)
	CancelCampaign(ctx context.Context, actor string, id int64) (domain.Campaign, error)
}

type campaignCreate struct {
	Name               string   `json:"name"`
	FirmwareURL        string   `json:"firmwareUrl"`
	Signed             bool     `json:"signed"`
	SigningCertificate string   `json:"signingCertificate"`
	Signature          string   `json:"signature"`
	StartAt            nullTime `json:"startAt"`
	StationIDs         []string `json:"stationIds"`
	Model              string   `json:"model"`
	FirmwareVersion    string   `json:"firmwareVersion"`
	Waves              []int    `json:"waves"`
	FailureThreshold   *float64 `json:"failureThreshold"`
	StationTimeout     string   `json:"stationTimeout"`
}

type campaignTargetJSON struct {
	StationID     string     `json:"stationId"`
	Wave          int        `json:"wave"`
	Status        string     `json:"status"`
	StationStatus string     `json:"stationStatus,omitempty"`
	Error         string     `json:"error,omitempty"`
	RequestID     int64      `json:"requestId"`
	SentAt        *time.Time `json:"sentAt"`
	UpdatedAt     time.Time  `json:"updatedAt"`
}

type campaignJSON struct {
	ID               string               `json:"id"`
	Name             string               `json:"name,omitempty"`
	FirmwareURL      string               `json:"firmwareUrl"`
	Signed           bool                 `json:"signed"`
	StartAt          time.Time            `json:"startAt"`
	Waves            []int                `json:"waves"`
	FailureThreshold float64              `json:"failureThreshold"`
	StationTimeout   string               `json:"stationTimeout"`
	Status           string               `json:"status"`
	Wave             int                  `json:"wave"`
	Reason           string               `json:"reason,omitempty"`
	Counts           map[string]int       `json:"counts,omitempty"`
	Stations         []campaignTargetJSON `json:"stations,omitempty"`
	CreatedBy        string               `json:"createdBy,omitempty"`
	CreatedAt        time.Time            `json:"createdAt"`
	UpdatedAt        time.Time            `json:"updatedAt"`
}

func campaignView(c domain.Campaign, withTargets bool) campaignJSON {
	v := campaignJSON{ID: strconv.FormatInt(c.ID, 10), Name: c.Name, FirmwareURL: c.FirmwareURL, Signed: c.Signed,
		StartAt: c.StartAt.UTC(), Waves: c.Waves, FailureThreshold: c.FailureThreshold, StationTimeout: c.StationTimeout.String(),
		Status: string(c.Status), Wave: c.Wave + 1, Reason: c.Reason, CreatedBy: c.Actor, CreatedAt: c.CreatedAt.UTC(), UpdatedAt: c.UpdatedAt.UTC()}
	if withTargets {
		v.Counts = map[string]int{}
		v.Stations = make([]campaignTargetJSON, 0, len(c.Targets))
		for _, t := range c.Targets {
			v.Counts[t.Status]++
			v.Stations = append(v.Stations, campaignTargetJSON{StationID: t.StationID, Wave: t.Wave + 1, Status: t.Status,
				StationStatus: t.StationStatus, Error: t.Error, RequestID: t.ID, SentAt: timeOrNull(t.SentAt), UpdatedAt: t.UpdatedAt.UTC()})
		}
	}
	return v
}

// createCampaign schedules a campaign: 201; the runner starts it at startAt (default now).
func (s *Server) createCampaign(w http.ResponseWriter, r *http.Request) error {
	var req campaignCreate
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	spec := domain.CampaignSpec{Name: req.Name, FirmwareURL: req.FirmwareURL, Signed: req.Signed, SigningCertificate: req.SigningCertificate,
		Signature: req.Signature, StartAt: req.StartAt.Time, StationIDs: req.StationIDs, Model: req.Model,
		FirmwareVersion: req.FirmwareVersion, Waves: req.Waves}
	if req.FailureThreshold != nil {
		if *req.FailureThreshold <= 0 || *req.FailureThreshold > 1 {
			return domain.Errorf(domain.ErrInvalid, "failureThreshold must be above 0 and at most 1")
		}
		spec.FailureThreshold = *req.FailureThreshold
	}
	if req.StationTimeout != "" {
		d, err := time.ParseDuration(req.StationTimeout)
		if err != nil || d <= 0 {
			return domain.Errorf(domain.ErrInvalid, "stationTimeout must be a positive duration such as 2h")
		}
		spec.StationTimeout = d
	}
	if req.Waves != nil && len(req.Waves) == 0 {
		return domain.Errorf(domain.ErrInvalid, "waves must be cumulative percentages ending at 100")
	}
	c, err := s.campaigns().CreateCampaign(r.Context(), actorOf(r.Context()), spec)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, campaignView(c, true))
	return nil
}

func (s *Server) listCampaigns(w http.ResponseWriter, r *http.Request) error {
	page, err := pageOf(r)
	if err != nil {
		return err
	}
	items, next, err := s.store.Campaigns(r.Context(), page)
	if err != nil {
		return err
	}
	out := listResponse[campaignJSON]{Items: make([]campaignJSON, 0, len(items)), NextCursor: next}
	for _, c := range items {
		out.Items = append(out.Items, campaignView(c, false))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getCampaign(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "campaign")
	if err != nil {
		return err
	}
	c, err := s.store.Campaign(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, campaignView(c, true))
	return nil
}

func (s *Server) resumeCampaign(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "campaign")
	if err != nil {
		return err
	}
	c, err := s.campaigns().ResumeCampaign(r.Context(), actorOf(r.Context()), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, campaignView(c, true))
	return nil
}

func (s *Server) cancelCampaign(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "campaign")
	if err != nil {
		return err
	}
	c, err := s.campaigns().CancelCampaign(r.Context(), actorOf(r.Context()), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, campaignView(c, true))
	return nil
}

func (s *Server) campaigns() Campaigns { return s.ops }
