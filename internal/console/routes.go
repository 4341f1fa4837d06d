package console

import (
	"io/fs"
	"net/http"
)

// Route describes one console route: its method, path pattern and the least role it needs.
// Tests walk this list to check that every route is guarded.
type Route struct {
	Method, Path string
	// Role is "signed-in", "operator" or "admin".
	Role string
}

type route struct {
	method, path string
	need         need
	h            handlerFunc
}

// routeTable lists every route behind sign-in. Pages are GET; every change is a POST that needs
// the CSRF token.
func (s *Server) routeTable() []route {
	return []route{
		{"GET", "/{$}", needSignedIn, s.dashboard},
		{"POST", "/logout", needSignedIn, s.logout},
		{"GET", "/console/events", needSignedIn, s.streamEvents},

		{"GET", "/stations", needSignedIn, s.listStations},
		{"GET", "/stations/{id}", needSignedIn, s.stationPage},
		{"POST", "/stations/{id}/operations/{op}", needOperator, s.stationOperation},
		{"POST", "/stations/{id}/registration", needOperator, s.stationRegistration},
		{"GET", "/stations/{id}/messages", needOperator, s.stationMessages},

		{"GET", "/locations", needSignedIn, s.listLocations},
		{"POST", "/locations", needOperator, s.createLocation},
		{"GET", "/locations/{id}", needSignedIn, s.locationPage},
		{"POST", "/locations/{id}", needOperator, s.updateLocation},
		{"POST", "/locations/{id}/stations", needOperator, s.assignStation},
		{"POST", "/locations/{id}/evses", needOperator, s.assignEVSE},
		{"POST", "/locations/{id}/delete", needOperator, s.deleteLocation},

		{"GET", "/sessions", needSignedIn, s.listSessions},
		{"GET", "/sessions.csv", needSignedIn, s.exportSessions},
		{"GET", "/sessions/{id}", needSignedIn, s.sessionPage},
		{"POST", "/sessions/{id}/stop", needOperator, s.stopSession},
		{"GET", "/sessions/{id}/cdr", needSignedIn, s.sessionCDR},

		{"GET", "/tokens", needSignedIn, s.listTokens},
		{"POST", "/tokens", needOperator, s.createToken},
		{"POST", "/tokens/import", needOperator, s.importTokens},
		{"POST", "/tokens/{uid}/status", needOperator, s.setTokenStatus},

		{"GET", "/tariffs", needSignedIn, s.listTariffs},
		{"POST", "/tariffs", needOperator, s.createTariff},
		{"GET", "/tariffs/{id}", needSignedIn, s.tariffPage},
		{"POST", "/tariffs/{id}", needOperator, s.updateTariff},
		{"GET", "/station-groups", needSignedIn, s.listStationGroups},
		{"GET", "/station-groups/{id}", needSignedIn, s.stationGroupPage},
		{"POST", "/station-groups/{id}/stations", needOperator, s.groupStation},
		{"GET", "/campaigns", needSignedIn, s.listCampaigns},
		{"GET", "/campaigns/{id}", needSignedIn, s.campaignPage},
		{"POST", "/campaigns/{id}/{action}", needOperator, s.campaignAction},
		{"GET", "/config-templates", needSignedIn, s.listConfigTemplates},
		{"GET", "/config-templates/{id}", needSignedIn, s.configTemplatePage},
		{"POST", "/config-templates/{id}/apply", needOperator, s.applyConfigTemplate},

		{"GET", "/api-tokens", needAdmin, s.listAPITokens},
		{"POST", "/api-tokens", needAdmin, s.createAPIToken},
		{"POST", "/api-tokens/{id}/revoke", needAdmin, s.revokeAPIToken},

		{"GET", "/users", needAdmin, s.listUsers},
		{"POST", "/users", needAdmin, s.createUser},
		{"POST", "/users/{email}", needAdmin, s.updateUser},
	}
}

// Routes lists the guarded routes (for tests and documentation).
func (s *Server) Routes() []Route {
	names := map[need]string{needSignedIn: "signed-in", needOperator: "operator", needAdmin: "admin"}
	var out []Route
	for _, rt := range s.routeTable() {
		out = append(out, Route{Method: rt.method, Path: rt.path, Role: names[rt.need]})
	}
	return out
}

func (s *Server) routes(mux *http.ServeMux) {
	for _, rt := range s.routeTable() {
		mux.Handle(rt.method+" "+rt.path, s.authorize(rt.need, rt.h))
	}
	// Open to everyone: the sign-in form and the static files it needs.
	mux.HandleFunc("GET /login", s.loginPage)
	mux.HandleFunc("POST /login", s.login)
	static, _ := fs.Sub(s.cfg.Assets, "static")
	dist, _ := fs.Sub(s.cfg.Assets, "dist")
	mux.Handle("GET /assets/", cacheAssets(http.StripPrefix("/assets/", http.FileServerFS(static))))
	mux.Handle("GET /assets/dist/", cacheAssets(http.StripPrefix("/assets/dist/", http.FileServerFS(dist))))
	// Anything else: not found, and no hint to strangers whether it exists.
	mux.Handle("/", s.authorize(needSignedIn, func(http.ResponseWriter, *http.Request) error {
		return errNoPage
	}))
}

func cacheAssets(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache") // revalidate: assets change with the binary
		h.ServeHTTP(w, r)
	})
}
