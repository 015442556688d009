package adminweb

import (
	"context"
	"net/http"

	"github.com/caldicott/caldicott/compliance"
)

// Act is something an IG admin asks done to a room: what `!policy hold on
// <reason>`, `!policy hold off` and `!policy review` do in the room.
type Act string

// The acts.
const (
	ActHold   Act = "hold"   // place a legal hold, with a reason
	ActLift   Act = "lift"   // lift the legal hold
	ActReview Act = "review" // start a membership review now
)

// ActRequest is one act, asked for through the API or a page.
type ActRequest struct {
	Act  Act
	Room string
	// Reason is the legal hold's, already checked (ActHold only).
	Reason string
	// As is the person it is done as: the token's (NewToken.For) or the
	// signed-in IG admin's; "" when a token was made for no one.
	As string
	// Via is what they used, for the audit log: "token:NAME" or ViaPages.
	Via string
}

// ViaPages is the audit log's name for an act done from the pages.
const ViaPages = "admin_web"

// Outcome is how an act ended.
type Outcome int

// The outcomes, each with its HTTP status (see status).
const (
	// Done: the act was done (200).
	Done Outcome = iota
	// Refused: the person may not do it, by the rules the same command
	// follows in the room (403); audited, nothing changed.
	Refused
	// Unknown: Caldicott has no record of the room (404).
	Unknown
	// Unchanged: there was nothing to do (409): no hold to lift, a
	// review already open, a room that is not clinical.
	Unchanged
)

func (o Outcome) status() int {
	switch o {
	case Done:
		return http.StatusOK
	case Refused:
		return http.StatusForbidden
	case Unknown:
		return http.StatusNotFound
	}
	return http.StatusConflict
}

// ActResult is an act's outcome and what the bot said of it.
type ActResult struct {
	Outcome Outcome
	Message string
}

// Actions carries out acts. The appservice runs each as the bot's own
// command, as the person asking, so the rules, the audit entries and the
// executor are the command's.
type Actions interface {
	Act(ctx context.Context, req ActRequest) (ActResult, error)
}

// actAnswer is the API's answer to an act.
type actAnswer struct {
	RoomID  string `json:"room_id"`
	Act     Act    `json:"act"`
	ActedAs string `json:"acted_as"`
	Done    bool   `json:"done"`
	Message string `json:"message,omitempty"`
	Error   string `json:"error,omitempty"`
}

// act carries out req; without Actions (a server built for reading only)
// nothing is done and the caller is told so.
func (s *Server) act(ctx context.Context, req ActRequest) (ActResult, error) {
	if s.acts == nil {
		return ActResult{Outcome: Refused, Message: "this server does not act on rooms; nothing was done"}, nil
	}
	return s.acts.Act(ctx, req)
}

// apiAct answers POST …/rooms/{id}/hold, DELETE …/rooms/{id}/hold and
// POST …/rooms/{id}/review, done as the token's person.
func (s *Server) apiAct(w http.ResponseWriter, r *http.Request, what Act) {
	room, err := roomParam(r)
	if err != nil {
		s.apiError(w, err)
		return
	}
	reason, err := actBody(w, r, what)
	if err != nil {
		s.apiError(w, err)
		return
	}
	person, via := s.auth.Acting(r.Context())
	res, err := s.act(r.Context(), ActRequest{Act: what, Room: room, Reason: reason, As: person, Via: via})
	if err != nil {
		s.log.Error().Err(err).Str("act", string(what)).Msg("An admin act failed")
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "Caldicott could not do it; see its log. What was done before the failure is in the audit log."})
		return
	}
	ans := actAnswer{RoomID: room, Act: what, ActedAs: person, Done: res.Outcome == Done}
	// The bot's words can repeat a reason: shown, like every free text here, masked.
	if ans.Done {
		ans.Message = compliance.Clean(res.Message)
	} else {
		ans.Error = compliance.Clean(res.Message)
	}
	writeJSON(w, res.Outcome.status(), ans)
}

func (s *Server) apiHold(w http.ResponseWriter, r *http.Request)   { s.apiAct(w, r, ActHold) }
func (s *Server) apiLift(w http.ResponseWriter, r *http.Request)   { s.apiAct(w, r, ActLift) }
func (s *Server) apiReview(w http.ResponseWriter, r *http.Request) { s.apiAct(w, r, ActReview) }

// formAct answers a room page's form: done as the signed-in IG admin, the
// room's page shown again with what came of it (no JavaScript needed).
// The access layer has checked the form's CSRF token before this runs.
func (s *Server) formAct(w http.ResponseWriter, r *http.Request, what Act) {
	room, err := roomParam(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	var reason string
	if what == ActHold {
		if reason, err = checkReason(r.PostFormValue("reason")); err != nil {
			s.showRoom(w, r, room, http.StatusBadRequest, &actBanner{Message: err.Error()})
			return
		}
	}
	who, _ := s.auth.Who(r.Context())
	res, err := s.act(r.Context(), ActRequest{Act: what, Room: room, Reason: reason, As: who, Via: ViaPages})
	if err != nil {
		s.log.Error().Err(err).Str("act", string(what)).Msg("An admin act failed")
		s.showRoom(w, r, room, http.StatusInternalServerError, &actBanner{Message: "Caldicott could not do it; see its log. What was done before the failure is in the audit log."})
		return
	}
	if res.Outcome == Unknown {
		s.pageError(w, r, errUnknownRoom)
		return
	}
	s.showRoom(w, r, room, res.Outcome.status(), &actBanner{OK: res.Outcome == Done, Message: compliance.Clean(res.Message)})
}

func (s *Server) formHold(w http.ResponseWriter, r *http.Request)   { s.formAct(w, r, ActHold) }
func (s *Server) formLift(w http.ResponseWriter, r *http.Request)   { s.formAct(w, r, ActLift) }
func (s *Server) formReview(w http.ResponseWriter, r *http.Request) { s.formAct(w, r, ActReview) }

// actBanner is what the room's page says of the act just asked for.
type actBanner struct {
	OK      bool
	Message string
}
