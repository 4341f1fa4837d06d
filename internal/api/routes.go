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

		{"PUT", "/api/v1/tariffs/{id}", s.putTariff},
		{"GET", "/api/v1/tariffs", s.listTariffs},
		{"GET", "/api/v1/tariffs/{id}", s.getTariff},
		{"DELETE", "/api/v1/tariffs/{id}", s.deleteTariff},
		{"POST", "/api/v1/tariff-assignments", s.createAssignment},
		{"GET", "/api/v1/tariff-assignments", s.listAssignments},
		{"DELETE", "/api/v1/tariff-assignments/{id}", s.deleteAssignment},
		{"GET", "/api/v1/stations/{id}/evses/{evseId}/price", s.evsePrice},
		{"GET", "/api/v1/cdrs", s.listCDRs},
		{"GET", "/api/v1/cdrs.csv", s.exportCDRs},
		{"GET", "/api/v1/cdrs/{id}", s.getCDR},

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
