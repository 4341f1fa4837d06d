package console

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/opencpo/opencpo/internal/domain"
)

// tokenUIDPattern is the API's rule for token uids and group ids: printable ASCII without spaces,
// at most 36 characters (OCPP 2.0.1 idToken).
var tokenUIDPattern = regexp.MustCompile(`^[!-~]{1,36}$`)

var tokenTypes = []string{"ISO14443", "ISO15693", "eMAID", "KeyCode", "Local", "MacAddress", "Central", "NoAuthorization"}

var tokenStatuses = []string{"Accepted", "Blocked", "Expired", "Invalid"}

type tokensData struct {
	Items    []tokenRow
	More     bool
	Form     *form
	Types    []string
	Statuses []string
	Import   []importLine
	Imported int
	Q        string
}

type tokenRow struct {
	domain.Token
	AuthorizesAs domain.TokenStatus
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) error {
	return s.renderTokens(w, r, http.StatusOK, nil, nil, 0)
}

func (s *Server) renderTokens(w http.ResponseWriter, r *http.Request, status int, f *form, report []importLine, imported int) error {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	d := tokensData{Form: f, Types: tokenTypes, Statuses: tokenStatuses, Import: report, Imported: imported, Q: q}
	if d.Form == nil {
		d.Form = &form{Errors: map[string]string{}}
	}
	now := s.now()
	cursor := ""
	for read := 0; read < maxListed; {
		items, next, err := s.store.Tokens(r.Context(), domain.Page{Limit: 500, Cursor: cursor})
		if err != nil {
			return err
		}
		for _, t := range items {
			if q != "" && !strings.Contains(strings.ToLower(t.UID+" "+t.GroupID), strings.ToLower(q)) {
				continue
			}
			if len(d.Items) == 500 {
				d.More = true
				break
			}
			d.Items = append(d.Items, tokenRow{Token: t, AuthorizesAs: t.StatusAt(now)})
		}
		read += len(items)
		if next == "" || d.More {
			break
		}
		cursor = next
	}
	return s.render(w, r, status, "tokens", "Tokens", "tokens", d)
}

// tokenFromFields checks one token's fields (from the form or a CSV line); field names the
// form field of each problem.
func tokenFromFields(uid, typ, status, expires, group string, now time.Time) (domain.Token, map[string]string) {
	errs := map[string]string{}
	uid = strings.TrimSpace(uid)
	if !tokenUIDPattern.MatchString(uid) {
		errs["uid"] = "the uid must be 1 to 36 printable characters without spaces"
	}
	typ = strings.TrimSpace(typ)
	if typ == "" {
		typ = "ISO14443"
	}
	if !contains(tokenTypes, typ) {
		errs["type"] = "the type must be one of " + strings.Join(tokenTypes, ", ")
	}
	status = strings.TrimSpace(status)
	if status == "" {
		status = "Accepted"
	}
	if !contains(tokenStatuses, status) {
		errs["status"] = "the status must be one of " + strings.Join(tokenStatuses, ", ")
	}
	group = strings.TrimSpace(group)
	if group != "" && !tokenUIDPattern.MatchString(group) {
		errs["groupId"] = "the group id must be 1 to 36 printable characters without spaces"
	}
	var exp time.Time
	if e := strings.TrimSpace(expires); e != "" {
		var err error
		if exp, err = time.Parse(time.RFC3339, e); err != nil {
			if exp, err = time.Parse("2006-01-02", e); err != nil {
				errs["expiresAt"] = "the expiry must be a date (YYYY-MM-DD) or an RFC 3339 time"
			}
		}
		if err == nil && (exp.Year() < 2000 || exp.Year() > 9999) {
			errs["expiresAt"] = "the expiry must be a year from 2000 to 9999"
		}
	}
	return domain.Token{UID: uid, Type: typ, Status: domain.TokenStatus(status), GroupID: group, ExpiresAt: exp.UTC(),
		CreatedAt: now, UpdatedAt: now}, errs
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	f := newForm(r)
	t, errs := tokenFromFields(f.Get("uid"), f.Get("type"), f.Get("status"), f.Get("expiresAt"), f.Get("groupId"), s.now().UTC())
	for k, v := range errs {
		f.fail(k, v)
	}
	if f.ok() {
		err := s.store.CreateToken(ctx, t)
		switch {
		case errors.Is(err, domain.ErrConflict):
			f.fail("uid", fmt.Sprintf("a token %s already exists", t.UID))
		case errors.Is(err, domain.ErrInvalid):
			f.fail("uid", messageOf(err))
		case err != nil:
			return err
		}
	}
	if !f.ok() {
		return s.renderTokens(w, r, http.StatusBadRequest, f, nil, 0)
	}
	s.audit(ctx, whoOf(ctx).user.Email, "", "CreateToken", tokenAudit(t))
	s.setFlash(r, "Token "+t.UID+" created.", false)
	return redirect(w, r, "/tokens")
}

func tokenAudit(t domain.Token) map[string]any {
	m := map[string]any{"uid": t.UID, "type": t.Type, "status": t.Status}
	if t.GroupID != "" {
		m["groupId"] = t.GroupID
	}
	if !t.ExpiresAt.IsZero() {
		m["expiresAt"] = t.ExpiresAt
	}
	return m
}

// setTokenStatus blocks, unblocks or expires a token.
func (s *Server) setTokenStatus(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	uid := r.PathValue("uid")
	status := domain.TokenStatus(r.PostFormValue("status"))
	if !status.Valid() {
		return domain.Errorf(domain.ErrInvalid, "the status must be one of %s", strings.Join(tokenStatuses, ", "))
	}
	patch := domain.TokenPatch{Status: &status}
	if status == domain.TokenAccepted {
		// Re-accepting an expired token would leave it expired by date: clear a past expiry.
		if t, err := s.store.Token(ctx, uid); err == nil && !t.ExpiresAt.IsZero() && !s.now().Before(t.ExpiresAt) {
			patch.ExpiresAt = &time.Time{}
		}
	}
	if _, err := s.store.UpdateToken(ctx, uid, patch); err != nil {
		return err
	}
	s.audit(ctx, whoOf(ctx).user.Email, "", "UpdateToken", map[string]any{"uid": uid, "status": status})
	s.setFlash(r, fmt.Sprintf("Token %s is now %s.", uid, status), false)
	return redirect(w, r, "/tokens")
}

// importLine is the outcome of one line of a CSV import.
type importLine struct {
	Line    int
	UID     string
	Problem string // "" when the token was created
}

const maxImportLines = 10_000

// importTokens creates tokens from a CSV file (uid,type,status,expiresAt,groupId; a header line
// is optional) and reports on every line: created, or what was wrong with it.
func (s *Server) importTokens(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	file, _, err := r.FormFile("file")
	if err != nil {
		f := &form{Values: r.PostForm, Errors: map[string]string{"file": "choose a CSV file to import"}}
		return s.renderTokens(w, r, http.StatusBadRequest, f, nil, 0)
	}
	defer file.Close()
	cr := csv.NewReader(file)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	var report []importLine
	created := 0
	actor := whoOf(ctx).user.Email
	for n := 1; ; n++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line := n
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			line = pe.Line
		}
		if err != nil {
			report = append(report, importLine{Line: line, Problem: "not valid CSV: " + csvProblem(err)})
			if pe == nil {
				break
			}
			continue
		}
		if n > maxImportLines {
			report = append(report, importLine{Line: n, Problem: fmt.Sprintf("the import stops after %d lines", maxImportLines)})
			break
		}
		if n == 1 && len(rec) > 0 && strings.EqualFold(strings.TrimSpace(strings.TrimPrefix(rec[0], "\ufeff")), "uid") {
			continue // header
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // blank line
		}
		if len(rec) > 5 {
			report = append(report, importLine{Line: n, UID: rec[0], Problem: fmt.Sprintf("%d columns; expected at most 5: uid,type,status,expiresAt,groupId", len(rec))})
			continue
		}
		for len(rec) < 5 {
			rec = append(rec, "")
		}
		t, errs := tokenFromFields(strings.TrimPrefix(rec[0], "\ufeff"), rec[1], rec[2], rec[3], rec[4], s.now().UTC())
		if len(errs) > 0 {
			var msgs []string
			for _, k := range []string{"uid", "type", "status", "expiresAt", "groupId"} {
				if m := errs[k]; m != "" {
					msgs = append(msgs, m)
				}
			}
			report = append(report, importLine{Line: n, UID: rec[0], Problem: strings.Join(msgs, "; ")})
			continue
		}
		if err := s.store.CreateToken(ctx, t); err != nil {
			if st, _ := explain(err); st == http.StatusInternalServerError {
				return err
			}
			msg := messageOf(err)
			if errors.Is(err, domain.ErrConflict) {
				msg = "a token " + t.UID + " already exists (left unchanged)"
			}
			report = append(report, importLine{Line: n, UID: t.UID, Problem: msg})
			continue
		}
		created++
		s.audit(ctx, actor, "", "CreateToken", tokenAudit(t))
		report = append(report, importLine{Line: n, UID: t.UID})
	}
	status := http.StatusOK
	return s.renderTokens(w, r, status, nil, report, created)
}

func csvProblem(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return "the file could not be read"
}
