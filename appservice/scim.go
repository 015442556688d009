package appservice

import (
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/caldicott/caldicott/bridges/directory"
)

// scimHandler serves SCIM 2.0 provisioning behind its own bearer token, on
// the same listener as the homeserver's endpoints. Without a token it is off.
func (s *Service) scimHandler() (http.Handler, error) {
	token := s.Cfg.Directory.SCIM.Token
	if token == "" {
		return http.NotFoundHandler(), nil
	}
	srv, err := directory.NewSCIMServer(&directory.SCIMUsers{
		Store: s.Store, OwnServer: s.Cfg.Homeserver.Domain,
		Changed: func(userID string) {
			select {
			case s.userChanged <- userID:
			default: // the periodic sweep catches up
			}
		},
	})
	if err != nil {
		return nil, err
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
			w.Header().Set("Content-Type", "application/scim+json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"401","detail":"missing or wrong bearer token"}`))
			return
		}
		http.StripPrefix("/scim", srv).ServeHTTP(w, r)
	}), nil
}
