package api

import "net/http"

// route is one endpoint of the API.
type route struct {
	method, path string
	handler      handlerFunc
}

// routeTable lists every route of the REST API. The OpenAPI description must name each one (a
// test holds them together).
func (s *Server) routeTable() []route {
	return []route{
		{"POST", "/api/v1/stations", s.createStation},
		{"GET", "/api/v1/stations", s.listStations},
		{"GET", "/api/v1/stations/{id}", s.getStation},
		{"PATCH", "/api/v1/stations/{id}", s.patchStation},
		{"DELETE", "/api/v1/stations/{id}", s.deleteStation},
		{"GET", "/api/v1/stations/{id}/events", s.listStationEvents},
		{"POST", "/api/v1/stations/{id}/ocpp/{action}", s.rawCall},

		{"POST", "/api/v1/tokens", s.createToken},
		{"GET", "/api/v1/tokens", s.listTokens},
		{"GET", "/api/v1/tokens/{uid}", s.getToken},
		{"PATCH", "/api/v1/tokens/{uid}", s.patchToken},
		{"DELETE", "/api/v1/tokens/{uid}", s.deleteToken},

		{"GET", "/api/v1/sessions", s.listSessions},
		{"POST", "/api/v1/sessions", s.startSession},
		{"GET", "/api/v1/sessions/{id}", s.getSession},
		{"GET", "/api/v1/sessions/{id}/meter-values", s.listMeterValues},
		{"POST", "/api/v1/sessions/{id}/stop", s.stopSession},

		{"GET", "/api/v1/audit", s.listAudit},

		{"POST", "/api/v1/reservations", s.createReservation},
		{"GET", "/api/v1/reservations", s.listReservations},
		{"GET", "/api/v1/reservations/{id}", s.getReservation},
		{"DELETE", "/api/v1/reservations/{id}", s.cancelReservation},
		{"POST", "/api/v1/stations/{id}/logs", s.requestLog},
		{"GET", "/api/v1/stations/{id}/logs", s.listLogRequests},
		{"GET", "/api/v1/logs/{id}", s.getLogRequest},
		{"GET", "/api/v1/logs/{id}/file", s.downloadLog},
		{"POST", "/api/v1/firmware-campaigns", s.createCampaign},
		{"GET", "/api/v1/firmware-campaigns", s.listCampaigns},
		{"GET", "/api/v1/firmware-campaigns/{id}", s.getCampaign},
		{"POST", "/api/v1/firmware-campaigns/{id}/resume", s.resumeCampaign},
		{"POST", "/api/v1/firmware-campaigns/{id}/cancel", s.cancelCampaign},
		{"GET", "/api/v1/firmware", s.listFirmware},
		{"PUT", "/api/v1/firmware/{name}", s.putFirmware},
		{"DELETE", "/api/v1/firmware/{name}", s.deleteFirmware},

		{"GET", "/api/v1/openapi.json", s.openAPI},
	}
}

func (s *Server) routes(mux *http.ServeMux) {
	for _, rt := range s.routeTable() {
		s.handle(mux, rt.method+" "+rt.path, rt.handler)
	}
	s.handle(mux, "/api/v1/", notFound)
}

func notFound(http.ResponseWriter, *http.Request) error {
	return errNoRoute
}
