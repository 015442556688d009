package gatekeeper

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/caldicott/caldicott/store"
)

// ActionRefused is the audit log's action for a request the gatekeeper refused.
const ActionRefused = "gatekeeper.refused"

// audit records a refusal in the trust's audit log: who asked (the client's
// account, or the server a federation request names as its origin), the
// room, the endpoint and the rule; never the body, nor what the person was
// told. A request that carries no credentials the homeserver accepts (a
// client token Dendrite refuses, a federation request without an X-Matrix
// origin) is counted and logged but not recorded: anyone could send it,
// and Dendrite refuses it anyway. A store that cannot record it leaves the
// refusal standing.
func (g *Gatekeeper) audit(r *http.Request, endpoint, roomID string, f *Refusal) {
	if g.s.Records == nil || f.Status == http.StatusTooManyRequests {
		return // a rate limit is no decision about the request: it may come again
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), storeTimeout)
	defer cancel()
	detail := map[string]any{"endpoint": endpoint, "status": f.Status, "method": r.Method}
	var actor string
	if strings.HasPrefix(endpoint, "federation_") {
		origin, err := xMatrixOrigin(r.Header)
		if err != nil {
			return
		}
		// As the request names it: Dendrite checks the signature downstream.
		actor, detail["origin_unverified"] = origin, true
	} else {
		user, err := g.identities.Who(ctx, userAuth(r), r.URL.Query().Get("user_id"))
		switch {
		case errors.Is(err, errNoCredentials):
			return
		case err != nil:
			detail["actor_unknown"] = "the homeserver could not be asked whose credentials these are"
		}
		actor = user
	}
	raw, _ := json.Marshal(detail)
	_, err := g.s.Records.AppendAudit(ctx, store.AuditEntry{Actor: actor, RoomID: roomID, Action: ActionRefused, Reason: f.Rule, Detail: string(raw)})
	if err != nil {
		g.metrics.AuditFailures.Inc()
	}
	g.fed.noteStore(ctx, err)
}
