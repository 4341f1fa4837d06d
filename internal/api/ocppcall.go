package api

import (
	"context"
	"net/http"
	"time"
)

const maxCallTimeout = 5 * time.Minute

// rawCall is the escape hatch every command builds on: the body is sent as the payload of an
// OCPP CALL and the station's CALLRESULT payload is the answer (CONTRACT.md §3).
func (s *Server) rawCall(w http.ResponseWriter, r *http.Request) error {
	timeout, err := s.callTimeout(r)
	if err != nil {
		return err
	}
	payload, err := readRawObject(w, r)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	result, err := s.ops.Call(ctx, actorOf(r.Context()), r.PathValue("id"), r.PathValue("action"), payload)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(result)
	return nil
}
