package policy

import (
	"fmt"
	"slices"
	"strings"
)

// TrustRequest is the event a member-trust rule cites as its proof (the
// rule's ProofKey), as the checking trust's own homeserver serves it. The
// homeserver holds an event only as its sender's homeserver signed it, so a
// request that reads right here was made by that admin, on that server.
type TrustRequest struct {
	EventID, RoomID, Sender, Type, Body string
	// TS is the request's origin_server_ts, set and signed by the admin's
	// own homeserver: it orders two requests about one server.
	TS int64
}

// TrustProofProblem says why req does not prove that one of the
// federation's admins asked for the member-trust rule (entity, ban) seen in
// listRoom, or "" when it does. A trust's bot only relays such a request:
// what it writes beside it (requested_by, the reason) counts for nothing.
func TrustProofProblem(req TrustRequest, listRoom string, admins []string, entity string, ban bool) string {
	switch {
	case req.EventID == "":
		return "it cites no request from a federation admin"
	case req.RoomID != listRoom:
		return "the request it cites was not made in the federation's list room"
	case !slices.Contains(admins, req.Sender):
		return fmt.Sprintf("the request it cites is from %s, who is not one of the federation's admins", req.Sender)
	case req.Type != "m.room.message":
		return "the request it cites is not a message"
	}
	verb, server, ok := ParseTrustCommand(req.Body)
	if !ok {
		return "the request it cites is not a `!policy trust add|remove <server>` command"
	}
	if server != entity || (verb == "remove") != ban {
		want := map[bool]string{false: "add", true: "remove"}[ban]
		return fmt.Sprintf("the request it cites asked to %s %s, not to %s %s", verb, server, want, entity)
	}
	return ""
}

// ParseTrustCommand reads `!policy trust add|remove <server>` as an admin
// typed it: the verb in lower case and the server as written.
func ParseTrustCommand(body string) (verb, server string, ok bool) {
	f := strings.Fields(body)
	if len(f) != 4 || !strings.EqualFold(f[0], "!policy") || !strings.EqualFold(f[1], "trust") {
		return "", "", false
	}
	verb = strings.ToLower(f[2])
	if verb != "add" && verb != "remove" {
		return "", "", false
	}
	return verb, f[3], true
}
