package gatekeeper

import (
	"crypto/sha256"
	"net/http"
	"net/http/httputil"

	"github.com/go-chi/chi/v5"
	"github.com/rs/zerolog"

	"github.com/caldicott/caldicott/config"
)

// Gatekeeper judges requests on their way to Dendrite and passes the rest.
type Gatekeeper struct {
	s       Settings
	proxy   *httputil.ReverseProxy
	classes *roomClasses
	// identities checks a client's credentials before a room is judged for it.
	identities *identities
	// media knows the files retention deleted; nil without a store.
	media   *deletedMedia
	metrics *Metrics
	log     zerolog.Logger
	// fed is the federation as the appservice last read it.
	fed *fedView
	// outDests are the destinations the forward proxy counts by name.
	outDests *destinations
}

// New makes a gatekeeper in front of s.Upstream.
func New(s Settings, m *Metrics, log zerolog.Logger) *Gatekeeper {
	// Tunnels are always bounded, whoever built the settings.
	if s.Timeouts.TunnelIdle <= 0 {
		s.Timeouts.TunnelIdle = config.DefaultGatekeeperTunnelIdle
	}
	if s.Timeouts.TunnelMax <= 0 {
		s.Timeouts.TunnelMax = config.DefaultGatekeeperTunnelMax
	}
	proxy := newProxy(s.Upstream, log)
	var media *deletedMedia
	if s.Media != nil {
		media = newDeletedMedia(s.Media, s.RoomStateTTL)
	}
	g := &Gatekeeper{
		media: media,
		s:     s,
		proxy: proxy,
		classes: &roomClasses{
			client: &http.Client{Transport: proxy.Transport}, base: s.Upstream,
			asToken: s.ASToken, bot: s.Rules.BotUserID,
			ttl: s.RoomStateTTL, timeout: s.RoomStateTimeout, failures: m.RoomStateFailure,
			known: map[string]rememberedClass{},
		},
		identities: &identities{
			client: &http.Client{Transport: proxy.Transport}, base: s.Upstream.String(),
			ttl: s.RoomStateTTL, timeout: s.RoomStateTimeout, known: map[[sha256.Size]byte]string{},
		},
		metrics:  m,
		log:      log,
		outDests: &destinations{named: map[string]bool{}},
	}
	g.fed = g.newFedView()
	return g
}

// Handler routes the judged endpoints to their judges and everything else
// straight to Dendrite.
func (g *Gatekeeper) Handler() http.Handler {
	r := chi.NewRouter()
	// Framing first: a Connection header must not be able to remove its mark.
	r.Use(g.refuseConflictingFraming, routeOnEscapedPath, dropConnectionHeaders)
	for _, rt := range g.routes() {
		r.With(g.judged(rt)).Method(rt.method, rt.pattern, g.proxy)
	}
	r.NotFound(g.proxy.ServeHTTP)
	r.MethodNotAllowed(g.proxy.ServeHTTP)
	return r
}

// judged runs a route's judge before the proxy: a refusal ends the
// request here, and Dendrite never sees it.
func (g *Gatekeeper) judged(rt route) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if g.s.judges(rt.endpoint) {
				if f := rt.judge(w, r); f != nil {
					g.refuse(w, r, rt.endpoint, f)
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}

// refuse answers with the refusal, counts it and logs it: the endpoint,
// the rule and the room, never the body or the reason's words.
func (g *Gatekeeper) refuse(w http.ResponseWriter, r *http.Request, endpoint string, f *Refusal) {
	g.metrics.Refusals.WithLabelValues(endpoint, f.Rule).Inc()
	roomID, _ := pathParam(r, "roomID")
	if loggableRoom(roomID) != roomID {
		roomID = "" // not a room ID: whatever the client wrote stays out of the log and the audit
	}
	g.log.Info().Str("endpoint", endpoint).Str("rule", f.Rule).Int("status", f.Status).
		Str("room_id", roomID).Msg("Refused before the homeserver")
	g.audit(r, endpoint, roomID, f)
	f.write(w)
}
