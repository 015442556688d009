package appservice

import (
	"context"
	"crypto/subtle"
	"net/http"
	"strings"
	"time"

	"github.com/caldicott/caldicott/appservice/executor"
	"github.com/caldicott/caldicott/bridges/directory"
)

// scimHandler serves SCIM 2.0 provisioning behind its own bearer token, on
// the same listener as the homeserver's endpoints. Without a token it is off.
func (s *Service) scimHandler() (http.Handler, error) {
	token := s.Cfg.Directory.SCIM.Token
	if token == "" {
		return http.NotFoundHandler(), nil
	}
	d := s.Cfg.Directory
	srv, err := directory.NewSCIMServer(&directory.SCIMUsers{
		Store: s.Store, OwnServer: s.Cfg.Homeserver.Domain, UPNDomains: d.SCIM.UPNDomains,
		Guard: directory.Guard{MaxFraction: d.MaxRemovalFraction, MinRemovals: d.HoldMinRemovals, Window: d.RemovalWindow.Duration},
		Held:  s.scimRemovalsHeld,
		Log:   s.Log.With().Str("component", "scim").Logger(),
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
		s.noteSCIMRequest(r.Context())
		http.StripPrefix("/scim", srv).ServeHTTP(w, r)
	}), nil
}

// scimRemovalsHeld tells the management room, outside the SCIM request
// (which answers at once), that SCIM removals are held. The hold's first
// refusal names the notice, so a retry never posts it twice.
func (s *Service) scimRemovalsHeld(userID string, held *directory.HeldError) {
	input := "scim-hold:" + userID + ":" + s.Now().Format(time.RFC3339Nano)
	go func() {
		ctx, cancel := context.WithTimeout(executor.WithInput(context.Background(), input), time.Minute)
		defer cancel()
		if err := s.membership.SCIMRemovalsHeld(ctx, userID, held); err != nil {
			s.Log.Error().Err(err).Str("user_id", userID).Msg("Could not tell the management room that SCIM removals are held")
		}
	}()
}
