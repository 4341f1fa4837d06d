package api

import (
	"net/http"
	"regexp"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
)

// tokenUIDPattern: printable ASCII without spaces, at most 36 characters (OCPP 2.0.1 idToken;
// OCPP 1.6 idTag takes 20, so longer uids only work with 2.0.1 stations).
var tokenUIDPattern = regexp.MustCompile(`^[!-~]{1,36}$`)

// tokenTypes are the OCPP 2.0.1 IdTokenEnumType values.
var tokenTypes = map[string]bool{
	"Central": true, "eMAID": true, "ISO14443": true, "ISO15693": true, "KeyCode": true,
	"Local": true, "MacAddress": true, "NoAuthorization": true,
}

type tokenJSON struct {
	UID          string     `json:"uid"`
	Type         string     `json:"type"`
	Status       string     `json:"status"`
	AuthorizesAs string     `json:"authorizesAs"`
	ExpiresAt    *time.Time `json:"expiresAt"`
	GroupID      string     `json:"groupId,omitempty"`
	CreatedAt    time.Time  `json:"createdAt"`
	UpdatedAt    time.Time  `json:"updatedAt"`
}

func (s *Server) tokenView(t domain.Token) tokenJSON {
	v := tokenJSON{UID: t.UID, Type: t.Type, Status: string(t.Status), AuthorizesAs: string(t.StatusAt(s.now())),
		GroupID: t.GroupID, CreatedAt: t.CreatedAt.UTC(), UpdatedAt: t.UpdatedAt.UTC()}
	if !t.ExpiresAt.IsZero() {
		e := t.ExpiresAt.UTC()
		v.ExpiresAt = &e
	}
	return v
}

type createTokenRequest struct {
	UID       string     `json:"uid"`
	Type      string     `json:"type"`
	Status    string     `json:"status"`
	ExpiresAt *time.Time `json:"expiresAt"`
	GroupID   string     `json:"groupId"`
}

func validateTokenFields(typ, status, groupID *string) error {
	if typ != nil && !tokenTypes[*typ] {
		return domain.Errorf(domain.ErrInvalid, "type must be one of ISO14443, ISO15693, eMAID, KeyCode, Local, MacAddress, Central, NoAuthorization")
	}
	if status != nil && !domain.TokenStatus(*status).Valid() {
		return domain.Errorf(domain.ErrInvalid, "status must be Accepted, Blocked, Expired or Invalid")
	}
	if groupID != nil && *groupID != "" && !tokenUIDPattern.MatchString(*groupID) {
		return domain.Errorf(domain.ErrInvalid, "groupId must be 1 to 36 printable characters without spaces")
	}
	return nil
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) error {
	req := createTokenRequest{Type: "ISO14443", Status: string(domain.TokenAccepted)}
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	if !tokenUIDPattern.MatchString(req.UID) {
		return domain.Errorf(domain.ErrInvalid, "uid must be 1 to 36 printable characters without spaces")
	}
	if err := validateTokenFields(&req.Type, &req.Status, &req.GroupID); err != nil {
		return err
	}
	now := s.now().UTC()
	t := domain.Token{UID: req.UID, Type: req.Type, Status: domain.TokenStatus(req.Status), GroupID: req.GroupID,
		CreatedAt: now, UpdatedAt: now}
	if req.ExpiresAt != nil {
		t.ExpiresAt = req.ExpiresAt.UTC()
	}
	if err := s.store.CreateToken(r.Context(), t); err != nil {
		return err
	}
	s.auditChange(r.Context(), "", "CreateToken", req)
	writeJSON(w, http.StatusCreated, s.tokenView(t))
	return nil
}

func (s *Server) getToken(w http.ResponseWriter, r *http.Request) error {
	t, err := s.store.Token(r.Context(), r.PathValue("uid"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.tokenView(t))
	return nil
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) error {
	page, err := pageOf(r)
	if err != nil {
		return err
	}
	items, next, err := s.store.Tokens(r.Context(), page)
	if err != nil {
		return err
	}
	out := listResponse[tokenJSON]{Items: make([]tokenJSON, 0, len(items)), NextCursor: next}
	for _, t := range items {
		out.Items = append(out.Items, s.tokenView(t))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// patchTokenRequest uses a raw field for expiresAt so that null (remove the expiry) and absent
// (leave it) can be told apart.
type patchTokenRequest struct {
	Type      *string  `json:"type"`
	Status    *string  `json:"status"`
	ExpiresAt nullTime `json:"expiresAt"`
	GroupID   *string  `json:"groupId"`
}

func (s *Server) patchToken(w http.ResponseWriter, r *http.Request) error {
	var req patchTokenRequest
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	if err := validateTokenFields(req.Type, req.Status, req.GroupID); err != nil {
		return err
	}
	patch := domain.TokenPatch{Type: req.Type, GroupID: req.GroupID}
	if req.Status != nil {
		st := domain.TokenStatus(*req.Status)
		patch.Status = &st
	}
	if req.ExpiresAt.Set {
		t := req.ExpiresAt.Time.UTC()
		patch.ExpiresAt = &t
	}
	uid := r.PathValue("uid")
	t, err := s.store.UpdateToken(r.Context(), uid, patch)
	if err != nil {
		return err
	}
	s.auditChange(r.Context(), "", "UpdateToken", map[string]any{"uid": uid, "patch": req})
	writeJSON(w, http.StatusOK, s.tokenView(t))
	return nil
}

func (s *Server) deleteToken(w http.ResponseWriter, r *http.Request) error {
	uid := r.PathValue("uid")
	if err := s.store.DeleteToken(r.Context(), uid); err != nil {
		return err
	}
	s.auditChange(r.Context(), "", "DeleteToken", map[string]string{"uid": uid})
	w.WriteHeader(http.StatusNoContent)
	return nil
}
