package gatekeeper

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/caldicott/caldicott/policy"
)

// errUnknownAlias: no room has the alias; Dendrite answers the join itself.
var errUnknownAlias = errors.New("no room has this alias")

// judgeJoin: POST /join/{roomIdOrAlias} and /rooms/{roomID}/join. Someone
// of this trust the join gate would remove from a clinical room (suspended,
// left, not in a non-empty directory, held out after a lost device, a
// bridge puppet, outside the room's role or team filters) does not join
// it: the appservice would remove them a moment later, after they had seen
// the room. Whether they were invited is Dendrite's to judge. Only rooms
// the bot is in are guarded, as the appservice guards only those.
//
// An alias is resolved once, here, and the join forwarded to Dendrite for
// the room judged (/join/{roomID}, the query and body as they came):
// Dendrite resolving it again could reach another room, if the alias moved
// in between or its server answered differently (found in review).
func (g *Gatekeeper) judgeJoin(_ http.ResponseWriter, r *http.Request) *Refusal {
	target, f := pathParam(r, "roomID")
	if f != nil {
		return f
	}
	if strings.HasPrefix(target, "#") {
		if errors.Is(g.identities.Check(r.Context(), userAuth(r)), errNoCredentials) {
			return nil // Dendrite refuses it; nothing about the alias is told
		}
		roomID, servers, err := g.resolveAlias(r.Context(), target)
		switch {
		case errors.Is(err, errUnknownAlias):
			return &Refusal{Status: http.StatusNotFound, ErrCode: "M_NOT_FOUND", Rule: ReasonUnknownAlias, Reason: fmt.Sprintf("No room has the address %s.", target)}
		case err != nil:
			g.log.Warn().Err(err).Msg("Could not resolve a room alias; refusing the join (it may be a clinical room)")
			return roomStateUnknown()
		}
		joinByID(r, roomID, servers)
		target = roomID
	}
	return g.judgeJoiner(r, target)
}

// ReasonUnknownAlias: a join by an alias no room has.
const ReasonUnknownAlias = "unknown_alias"

// maxJoinServers bounds the servers from the directory's answer a join
// is sent through, as a client would name a few.
const maxJoinServers = 10

// joinByID points the request at /join/{roomID}, in the API version it
// came in; its body is left as it is, and so is its query when it names
// servers to join through (server_name, via). Otherwise the servers the
// directory's answer named for the alias are added as server_name, as
// Dendrite itself would have joined through them: without them it cannot
// join a room on another server by its ID alone.
func joinByID(r *http.Request, roomID string, servers []string) {
	prefix := "/_matrix/client/" + chi.URLParam(r, "version") + "/join/"
	r.URL.Path = prefix + roomID
	r.URL.RawPath = prefix + url.PathEscape(roomID)
	q := r.URL.Query()
	if q.Has("server_name") || q.Has("via") || len(servers) == 0 {
		return
	}
	for _, s := range servers[:min(len(servers), maxJoinServers)] {
		q.Add("server_name", s)
	}
	r.URL.RawQuery = q.Encode()
}

// judgeJoiner judges the client joining target (a room ID or an alias),
// however the join is sent: by the join endpoints or as an m.room.member
// state event.
func (g *Gatekeeper) judgeJoiner(r *http.Request, target string) *Refusal {
	joiner, err := g.identities.Who(r.Context(), userAuth(r), r.URL.Query().Get("user_id"))
	switch {
	case errors.Is(err, errNoCredentials):
		return nil // Dendrite refuses it; nothing about the room is told
	case rateLimited(err) != nil:
		return rateLimited(err)
	case err != nil:
		g.metrics.RoomStateFailure.Inc()
		g.log.Warn().Err(err).Msg("Could not check a joiner's credentials; refusing joins into guarded clinical rooms")
		// Whoever it is, a guarded clinical room is not joined unjudged;
		// any other room is Dendrite's to admit.
		return g.ifGuardedClinical(r, target, roomStateUnknown())
	case serverOf(joiner) != g.s.Rules.OwnServer:
		return nil // not ours to judge: the client API serves this trust's users
	}
	facts, err := g.inviteeFacts(r.Context(), joiner)
	if err != nil {
		g.log.Warn().Err(err).Msg("Could not read the staff directory; refusing joins into clinical rooms")
		return g.ifGuardedClinical(r, target, forbidden(ReasonDirectoryUnknown, "I could not check the staff directory just now, so you have not joined (this is a clinical room). Try again in a minute; if it keeps failing, tell your IT team."))
	}
	if d := g.joinGate(facts); !d.Allow {
		return g.ifGuardedClinical(r, target, forbidden(d.Rule, d.Reason))
	}
	roomID, err := g.resolveRoom(r.Context(), target)
	if err != nil {
		return roomStateUnknown() // not a room ID (judgeJoin resolves aliases): it may be a clinical room
	}
	return g.judgeFilters(r, roomID, facts, g.joinGate)
}

// ifGuardedClinical refuses a join with f when the room (target: an ID or
// an alias) is clinical and guarded by the bot. A room the bot is not in
// is not guarded (the appservice sees nothing of it either), and an alias
// no room has leaves Dendrite to answer; when the room or its class cannot
// be told (Dendrite down or slow, an error answer), the join is refused,
// saying why: it may be a clinical room.
func (g *Gatekeeper) ifGuardedClinical(r *http.Request, target string, f *Refusal) *Refusal {
	roomID, err := g.resolveRoom(r.Context(), target)
	if errors.Is(err, errUnknownAlias) {
		return nil
	}
	if err != nil {
		g.log.Warn().Err(err).Msg("Could not resolve a room alias; refusing what the room's class would decide")
		return roomStateUnknown()
	}
	p, err := g.classes.Policy(r.Context(), roomID, "")
	switch {
	case errors.Is(err, errNotMember):
		return nil
	case err != nil:
		g.log.Warn().Err(err).Str("room_id", loggableRoom(roomID)).Msg("Could not read the room's class; refusing what it would decide")
		return roomStateUnknown()
	case p.Class == policy.Clinical:
		return f
	}
	return nil
}

// resolveRoom is the room ID a join names: itself, or the room its alias
// points to, asked of Dendrite (which asks the alias's server).
func (g *Gatekeeper) resolveRoom(ctx context.Context, target string) (string, error) {
	switch {
	case strings.HasPrefix(target, "!"):
		return target, nil
	case !strings.HasPrefix(target, "#"):
		return "", errUnknownAlias // neither: Dendrite refuses it
	}
	roomID, _, err := g.resolveAlias(ctx, target)
	return roomID, err
}

// resolveAlias asks Dendrite for the room an alias points to, and the
// servers its answer says are in it.
func (g *Gatekeeper) resolveAlias(ctx context.Context, target string) (roomID string, servers []string, err error) {
	ctx, cancel := context.WithTimeout(ctx, g.s.RoomStateTimeout)
	defer cancel()
	u := strings.TrimSuffix(g.s.Upstream.String(), "/") + "/_matrix/client/v3/directory/room/" + url.PathEscape(target)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", nil, fmt.Errorf("resolve alias: %w", err)
	}
	resp, err := g.classes.client.Do(req)
	if err != nil {
		return "", nil, fmt.Errorf("resolve alias: %w", err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound:
		return "", nil, errUnknownAlias
	default:
		return "", nil, fmt.Errorf("resolve alias: homeserver answered %d", resp.StatusCode)
	}
	var body struct {
		RoomID  string   `json:"room_id"`
		Servers []string `json:"servers"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&body); err != nil || !strings.HasPrefix(body.RoomID, "!") {
		return "", nil, fmt.Errorf("resolve alias: unreadable answer")
	}
	return body.RoomID, body.Servers, nil
}

func roomStateUnknown() *Refusal {
	return forbidden(ReasonStateUnknown, "I could not check this room's policy with the homeserver just now, so this was not done (it may be a clinical room). Try again in a minute; if it keeps failing, tell your IT team.")
}
