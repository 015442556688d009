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

func (s *Server) pageRoom(w http.ResponseWriter, r *http.Request) {
	id, err := roomParam(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
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
	s.render(w, r, http.StatusOK, "room", "Room "+id, p, v)
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
