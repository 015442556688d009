package gatekeeper

import (
	"fmt"
	"net/http"

	"github.com/caldicott/caldicott/policy"
)

// judgeMessage: PUT /rooms/{roomID}/send/{eventType}/{txnID}. An
// unencrypted event holding a valid NHS number is refused in a room where
// the appservice would delete it (social and operational rooms), so it
// never reaches the other members' devices. Encrypted events cannot be
// read here and pass.
func (g *Gatekeeper) judgeMessage(w http.ResponseWriter, r *http.Request) *Refusal {
	roomID, f := pathParam(r, "roomID")
	if f != nil {
		return f
	}
	eventType, f := pathParam(r, "eventType")
	if f != nil {
		return f
	}
	if eventType == "m.room.encrypted" {
		return nil
	}
	body, f := readJudgedBody(w, r, g.s.MaxJudgedBody)
	if f != nil {
		return f
	}
	var content map[string]any
	if f := decodeJSON(body, &content); f != nil {
		return f
	}
	if !holdsNHSNumber(content) {
		return nil
	}
	return g.byClass(r, roomID, func(c policy.Class) *Refusal {
		// The appservice's rule: what it would remove is refused here.
		if len(policy.PatientIDInMessage(c, "", "", roomID).Actions) == 0 {
			return nil
		}
		return forbidden(ReasonPatientID, fmt.Sprintf("This message was not sent: it contains an NHS number, and this is a %s room, which is not for patient information. Share it in a clinical room, where access is checked and messages are kept and deleted under the trust's rules.", c))
	})
}
