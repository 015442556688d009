package adminweb

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/caldicott/caldicott/compliance"
)

// apiRead answers with what read returns over the request's period.
func (s *Server) apiRead(w http.ResponseWriter, r *http.Request, read func(p compliance.Period) (any, error)) {
	p, err := s.periodParam(r)
	if err != nil {
		s.apiError(w, err)
		return
	}
	v, err := read(p)
	if err != nil {
		s.apiError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) apiOverview(w http.ResponseWriter, r *http.Request) {
	s.apiRead(w, r, func(p compliance.Period) (any, error) { return s.model.Overview(r.Context(), p) })
}

func (s *Server) apiCriteria(w http.ResponseWriter, r *http.Request) {
	s.apiRead(w, r, func(p compliance.Period) (any, error) {
		o, err := s.model.Overview(r.Context(), p)
		return map[string]any{"period": p, "criteria": s.model.Criteria(o)}, err
	})
}

func (s *Server) apiRooms(w http.ResponseWriter, r *http.Request) {
	s.apiRead(w, r, func(compliance.Period) (any, error) {
		rooms, err := s.model.Rooms(r.Context())
		return map[string]any{"rooms": rooms}, err
	})
}

func (s *Server) apiRoom(w http.ResponseWriter, r *http.Request) {
	id, err := roomParam(r)
	if err != nil {
		s.apiError(w, err)
		return
	}
	s.apiRead(w, r, func(p compliance.Period) (any, error) { return s.model.Room(r.Context(), id, p) })
}

func (s *Server) apiPeople(w http.ResponseWriter, r *http.Request) {
	s.apiRead(w, r, func(compliance.Period) (any, error) {
		people, err := s.model.People(r.Context())
		return map[string]any{"people": people}, err
	})
}

func (s *Server) apiPerson(w http.ResponseWriter, r *http.Request) {
	id, err := userParam(r)
	if err != nil {
		s.apiError(w, err)
		return
	}
	s.apiRead(w, r, func(p compliance.Period) (any, error) { return s.model.Person(r.Context(), id, p) })
}

func (s *Server) apiReviews(w http.ResponseWriter, r *http.Request) {
	s.apiRead(w, r, func(compliance.Period) (any, error) {
		reviews, err := s.model.Reviews(r.Context())
		return map[string]any{"reviews": reviews}, err
	})
}

func (s *Server) apiRetention(w http.ResponseWriter, r *http.Request) {
	s.apiRead(w, r, func(compliance.Period) (any, error) { return s.model.Retention(r.Context()) })
}

func (s *Server) apiHolds(w http.ResponseWriter, r *http.Request) {
	s.apiRead(w, r, func(compliance.Period) (any, error) {
		rooms, err := s.model.LegalHolds(r.Context())
		if err != nil {
			return nil, err
		}
		people, err := s.model.PersonHolds(r.Context())
		return map[string]any{"legal_holds": rooms, "person_holds": people}, err
	})
}

func (s *Server) apiRecords(w http.ResponseWriter, r *http.Request) {
	s.apiRead(w, r, func(compliance.Period) (any, error) { return s.model.Records(r.Context(), "") })
}

func (s *Server) apiFederation(w http.ResponseWriter, r *http.Request) {
	s.apiRead(w, r, func(compliance.Period) (any, error) { return s.model.Federation(r.Context()) })
}

// apiAudit streams the period's audit entries as NDJSON, one per line,
// NHS numbers masked. A failure after the first line cuts the connection:
// the caller gets a broken download, never a complete-looking one.
func (s *Server) apiAudit(w http.ResponseWriter, r *http.Request) {
	p, err := s.periodParam(r)
	if err != nil {
		s.apiError(w, err)
		return
	}
	out := bufio.NewWriter(w)
	started := false
	enc := json.NewEncoder(out)
	err = s.model.ExportAudit(r.Context(), p, func(e compliance.ExportedEntry) error {
		if !started {
			w.Header().Set("Content-Type", "application/x-ndjson")
			w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="audit-%s-%s.ndjson"`, p.FromDay(), p.LastDay()))
			started = true
		}
		return enc.Encode(e)
	})
	switch {
	case err != nil && !started:
		s.apiError(w, err)
	case err != nil:
		s.log.Error().Err(err).Msg("Audit export failed part way")
		panic(http.ErrAbortHandler)
	case !started:
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.WriteHeader(http.StatusOK)
	default:
		if err := out.Flush(); err != nil {
			s.log.Warn().Err(err).Msg("Audit export: the caller went away")
		}
	}
}
