package gatekeeper

import "net/http"

// Endpoint names (config.GatekeeperEndpoints): each judgement can be
// switched off by name, and refusals are counted by it.
const (
	EndpointClientInvite     = "client_invite"
	EndpointClientCreateRoom = "client_create_room"
	EndpointClientState      = "client_state"
	EndpointClientMessage    = "client_message"
	EndpointClientJoin       = "client_join"
	EndpointMediaDownload    = "media_download"
	EndpointFederationInvite = "federation_invite"
	EndpointFederationJoin   = "federation_join"
	EndpointFederationKnock  = "federation_knock"
)

// route is one judged endpoint: a method and path, and its judge.
type route struct {
	endpoint string
	method   string
	pattern  string
	// judge returns nil to pass the request on, or why it is refused.
	judge func(w http.ResponseWriter, r *http.Request) *Refusal
}

const (
	client      = "/_matrix/client/{version:(?:r0|v3)}"
	federation  = "/_matrix/federation/{fedVersion:(?:v1|v2|v3)}"
	media       = "/_matrix/media/{mediaVersion:(?:r0|v3|v1)}"
	clientMedia = "/_matrix/client/v1/media"
)

// routes lists every judged endpoint; anything else streams to Dendrite.
func (g *Gatekeeper) routes() []route {
	return append([]route{
		{EndpointClientInvite, http.MethodPost, client + "/rooms/{roomID}/invite", g.judgeInvite},
		{EndpointClientCreateRoom, http.MethodPost, client + "/createRoom", g.judgeCreateRoom},
		{EndpointClientState, http.MethodPut, client + "/rooms/{roomID}/state/{eventType}", g.judgeState},
		{EndpointClientState, http.MethodPut, client + "/rooms/{roomID}/state/{eventType}/{stateKey}", g.judgeState},
		{EndpointClientMessage, http.MethodPut, client + "/rooms/{roomID}/send/{eventType}/{txnID}", g.judgeMessage},
		{EndpointClientMessage, http.MethodPost, client + "/rooms/{roomID}/send/{eventType}", g.judgeMessage},
		{EndpointClientJoin, http.MethodPost, client + "/join/{roomID}", g.judgeJoin},
		{EndpointClientJoin, http.MethodPost, client + "/rooms/{roomID}/join", g.judgeJoin},
		{EndpointClientUpgrade, http.MethodPost, client + "/rooms/{roomID}/upgrade", g.judgeUpgrade},
		{EndpointClientProfile, http.MethodPut, client + "/profile/{userID}/displayname", g.judgeDisplayName},
		{EndpointClientAlias, http.MethodPut, client + "/directory/room/{roomAlias}", g.judgeAlias},
		{EndpointFederationInvite, http.MethodPut, federation + "/invite/{roomID}/{eventID}", g.judgeOrigin("invite")},
		// A third-party invite turned into a membership invite by the
		// inviting server (found in review): an invite all the same.
		{EndpointFederationInvite, http.MethodPut, "/_matrix/federation/v1/exchange_third_party_invite/{roomID}", g.judgeOrigin("invite")},
		// An identity server completing e-mail invitations: no X-Matrix
		// origin, judged by the rooms it names.
		{EndpointIdentityOnbind, http.MethodPost, "/_matrix/federation/v1/3pid/onbind", g.judgeOnbind},
		{EndpointFederationJoin, http.MethodGet, federation + "/make_join/{roomID}/{userID}", g.judgeOrigin("join")},
		{EndpointFederationJoin, http.MethodPut, federation + "/send_join/{roomID}/{eventID}", g.judgeOrigin("join")},
		{EndpointFederationKnock, http.MethodGet, federation + "/make_knock/{roomID}/{userID}", g.judgeOrigin("knock")},
		{EndpointFederationKnock, http.MethodPut, federation + "/send_knock/{roomID}/{eventID}", g.judgeOrigin("knock")},
	}, g.mediaRoutes()...)
}

// mediaRoutes are the downloads judged: files and thumbnails, by the old
// paths and the authenticated ones.
func (g *Gatekeeper) mediaRoutes() []route {
	var out []route
	for _, base := range []string{media, clientMedia} {
		for _, p := range []string{"/download/{server}/{mediaID}", "/download/{server}/{mediaID}/{fileName}", "/thumbnail/{server}/{mediaID}"} {
			out = append(out, route{EndpointMediaDownload, http.MethodGet, base + p, g.judgeMedia})
		}
	}
	// Another server fetching one of this trust's files (authenticated
	// federation media, MSC3916): the file is this server's (found in
	// review: a deleted file was still served to other servers).
	for _, p := range []string{"/_matrix/federation/v1/media/download/{mediaID}", "/_matrix/federation/v1/media/thumbnail/{mediaID}"} {
		out = append(out, route{EndpointMediaDownload, http.MethodGet, p, g.judgeMedia})
	}
	return out
}
