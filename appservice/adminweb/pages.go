package adminweb

import (
	"net/http"

	"github.com/caldicott/caldicott/compliance"
)

// overviewPage is the overview with the criteria it implies.
type overviewPage struct {
	compliance.Overview
	Criteria []compliance.Criterion
}

func (s *Server) pageOverview(w http.ResponseWriter, r *http.Request) {
	p, err := s.periodParam(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	o, err := s.model.Overview(r.Context(), p)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "overview", "Compliance overview", p, overviewPage{o, s.model.Criteria(o)})
}

func (s *Server) pageCriteria(w http.ResponseWriter, r *http.Request) {
	p, err := s.periodParam(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	o, err := s.model.Overview(r.Context(), p)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "criteria", "NHS guidance criteria", p, s.model.Criteria(o))
}

func (s *Server) pageRooms(w http.ResponseWriter, r *http.Request) {
	p, err := s.periodParam(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	rooms, err := s.model.Rooms(r.Context())
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "rooms", "Rooms", p, rooms)
}

// roomPage is a room's view, what its forms need, and what came of the
// act just asked for there (nil when none was).
type roomPage struct {
	compliance.RoomView
	Result    *actBanner
	ReasonMax int
}

func (s *Server) pageRoom(w http.ResponseWriter, r *http.Request) {
	id, err := roomParam(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	s.showRoom(w, r, id, http.StatusOK, nil)
}

// showRoom renders room's page with status, saying what came of an act.
func (s *Server) showRoom(w http.ResponseWriter, r *http.Request, id string, status int, result *actBanner) {
	p, err := s.periodParam(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v, err := s.model.Room(r.Context(), id, p)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	if r.Method != http.MethodGet {
		// A form's answer: its own forms and links are the room page's.
		r = r.Clone(r.Context())
		r.URL.Path = UIPrefix + "rooms/" + id
	}
	s.render(w, r, status, "room", "Room "+id, p, roomPage{RoomView: v, Result: result, ReasonMax: MaxReason})
}

func (s *Server) pagePeople(w http.ResponseWriter, r *http.Request) {
	p, err := s.periodParam(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	people, err := s.model.People(r.Context())
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "people", "People", p, people)
}

func (s *Server) pagePerson(w http.ResponseWriter, r *http.Request) {
	id, err := userParam(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	p, err := s.periodParam(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v, err := s.model.Person(r.Context(), id, p)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "person", "Person "+id, p, v)
}
