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
		{"PATCH", "/api/v1/stations/{id}/evses/{evseId}", s.patchEVSE},
		{"GET", "/api/v1/stations/{id}/events", s.listStationEvents},
		{"POST", "/api/v1/stations/{id}/ocpp/{action}", s.rawCall},
		{"GET", "/api/v1/stations/{id}/messages", s.listMessages},

		{"POST", "/api/v1/locations", s.createLocation},
		{"GET", "/api/v1/locations", s.listLocations},
		{"GET", "/api/v1/locations/{id}", s.getLocation},
		{"PATCH", "/api/v1/locations/{id}", s.patchLocation},
		{"DELETE", "/api/v1/locations/{id}", s.deleteLocation},
		{"GET", "/api/v1/locations/{id}/availability", s.locationAvailability},

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

		{"POST", "/api/v1/api-tokens", s.createAPIToken},
		{"GET", "/api/v1/api-tokens", s.listAPITokens},
		{"DELETE", "/api/v1/api-tokens/{id}", s.revokeAPIToken},

		{"GET", "/api/v1/audit", s.listAudit},
		{"GET", "/api/v1/events", s.streamEvents},

		// Remote operations (docs/remote-operations.md).
		{"GET", "/api/v1/commands", s.listCommands},
		{"POST", "/api/v1/stations/{id}/commands/{command}", s.runCommand},
		{"GET", "/api/v1/stations/{id}/configuration", s.getConfiguration},
		{"POST", "/api/v1/stations/{id}/configuration/refresh", s.refreshConfiguration},
		{"GET", "/api/v1/config-templates", s.listTemplates},
		{"PUT", "/api/v1/config-templates/{tid}", s.putTemplate},
		{"GET", "/api/v1/config-templates/{tid}", s.getTemplate},
		{"DELETE", "/api/v1/config-templates/{tid}", s.deleteTemplate},
		{"GET", "/api/v1/config-templates/{tid}/drift", s.templateDrift},
		{"POST", "/api/v1/config-templates/{tid}/apply", s.applyTemplate},
		{"GET", "/api/v1/stations/{id}/local-list", s.getLocalList},
		{"POST", "/api/v1/stations/{id}/local-list/sync", s.syncLocalList},
		{"POST", "/api/v1/local-list/sync", s.syncLocalLists},
		{"GET", "/api/v1/station-groups", s.listStationGroups},
		{"GET", "/api/v1/station-groups/{id}", s.getStationGroup},
		{"PUT", "/api/v1/station-groups/{id}", s.putStationGroup},
		{"DELETE", "/api/v1/station-groups/{id}", s.deleteStationGroup},

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
