// Package intake receives the homeserver's transactions: it checks the
// homeserver's token, validates a transaction whole, stores its events in
// the inbox before answering 200 (so a crash after the answer loses
// nothing) and wakes the worker. It decides nothing and writes nothing to
// the homeserver; it imports only the store.
package intake

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/caldicott/caldicott/store"
)

// Inbox is where transactions are kept until handled.
type Inbox interface {
	IngestTransaction(ctx context.Context, txnID string, events []store.InboxEvent) (duplicate bool, err error)
}

// Counters are the metrics intake keeps.
type Counters struct {
	Transactions *prometheus.CounterVec // by outcome
	Events       prometheus.Counter
	Ignored      *prometheus.CounterVec // by reason
}

// Intake is the transaction endpoint.
type Intake struct {
	inbox    Inbox
	botID    string
	hsToken  string
	maxBytes int64
	counters Counters
	wake     func()
	log      zerolog.Logger

	// Heard, when set, is called for every authentic transaction with
	// events in it, the bot's own echoes included, before anything is
	// dropped or stored: the bot's device-list sync is paced by it.
	Heard func()
}

// New builds the endpoint for the bot botID; wake is called after events
// are stored.
func New(inbox Inbox, botID, hsToken string, maxBytes int64, counters Counters, wake func(), log zerolog.Logger) *Intake {
	return &Intake{inbox: inbox, botID: botID, hsToken: hsToken, maxBytes: maxBytes, counters: counters, wake: wake, log: log}
}

// transactionBody is what the homeserver PUTs. Only events are used:
// Dendrite v0.15.2 sends no ephemeral events or to-device messages.
type transactionBody struct {
	Events []json.RawMessage `json:"events"`
}

// eventHeader is the part of an event intake needs to store it.
type eventHeader struct {
	EventID  string  `json:"event_id"`
	RoomID   string  `json:"room_id"`
	Type     string  `json:"type"`
	Sender   string  `json:"sender"`
	StateKey *string `json:"state_key"`
}

// ownEchoTypes are the kinds of event the bot sends that come back to it
// and that no rule reads when the bot is their sender (its notices, its
// redactions, its reactions). A retention sweep's redactions come back
// hundreds a minute, in the same ordered stream as the joins and
// invitations Caldicott must act on: storing each one made the homeserver
// wait for a database write before it could deliver the next invitation.
var ownEchoTypes = map[string]bool{
	"m.room.message":   true,
	"m.room.encrypted": true,
	"m.room.redaction": true,
	"m.reaction":       true,
}

// matrixError writes a Matrix-style error body.
func matrixError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"errcode": code, "error": msg})
}

// checkHSToken accepts the token as a bearer header or, for homeservers
// with legacy_auth, as the access_token query parameter. The comparison
// takes constant time so the token cannot be guessed byte by byte.
func (s *Intake) checkHSToken(w http.ResponseWriter, r *http.Request) bool {
	token := ""
	if auth := r.Header.Get("Authorization"); strings.HasPrefix(auth, "Bearer ") {
		token = strings.TrimPrefix(auth, "Bearer ")
	} else {
		token = r.URL.Query().Get("access_token")
	}
	if token == "" {
		matrixError(w, http.StatusUnauthorized, "M_MISSING_TOKEN", "missing homeserver token")
		return false
	}
	if subtle.ConstantTimeCompare([]byte(token), []byte(s.hsToken)) != 1 {
		matrixError(w, http.StatusForbidden, "M_FORBIDDEN", "invalid homeserver token")
		return false
	}
	return true
}

// ServeHTTP handles PUT /_matrix/app/v1/transactions/{txnID}: it stores a
// transaction's events before answering 200, so a crash after the answer
// loses nothing; a retried transaction ID is answered 200 again without
// storing anything twice.
func (s *Intake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.checkHSToken(w, r) {
		s.counters.Transactions.WithLabelValues("unauthorized").Inc()
		return
	}
	txnID := chi.URLParam(r, "txnID")
	if txnID == "" {
		matrixError(w, http.StatusBadRequest, "M_INVALID_PARAM", "missing transaction ID")
		return
	}
	body := http.MaxBytesReader(w, r.Body, s.maxBytes)
	var txn transactionBody
	if err := json.NewDecoder(body).Decode(&txn); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.counters.Transactions.WithLabelValues("too_large").Inc()
			matrixError(w, http.StatusRequestEntityTooLarge, "M_TOO_LARGE", fmt.Sprintf("transaction larger than %d bytes", tooBig.Limit))
			return
		}
		s.counters.Transactions.WithLabelValues("malformed").Inc()
		matrixError(w, http.StatusBadRequest, "M_BAD_JSON", "transaction is not valid JSON: "+err.Error())
		return
	}
	if len(txn.Events) > 0 && s.Heard != nil {
		s.Heard()
	}
	events, err := s.parseEvents(txn.Events)
	if err != nil {
		s.counters.Transactions.WithLabelValues("malformed").Inc()
		matrixError(w, http.StatusBadRequest, "M_BAD_JSON", err.Error())
		return
	}
	if len(events) == 0 && len(txn.Events) > 0 {
		// Only the bot's own echoes (or types no rule reads): answered
		// without a write, so the homeserver moves on at once. A retry of
		// it is as harmless.
		s.counters.Transactions.WithLabelValues("nothing_to_store").Inc()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("{}"))
		return
	}
	dup, err := s.inbox.IngestTransaction(r.Context(), txnID, events)
	if err != nil {
		// 500 makes the homeserver retry later; nothing was stored.
		s.log.Error().Err(err).Str("txn_id", txnID).Msg("Could not store transaction")
		s.counters.Transactions.WithLabelValues("store_error").Inc()
		matrixError(w, http.StatusInternalServerError, "M_UNKNOWN", "could not store transaction; retry later")
		return
	}
	if dup {
		s.counters.Transactions.WithLabelValues("duplicate").Inc()
	} else {
		s.counters.Transactions.WithLabelValues("stored").Inc()
		s.counters.Events.Add(float64(len(events)))
	}
	s.wake() // a retry may carry events the first attempt did not
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte("{}"))
}

// parseEvents validates every event before any is stored, so a malformed
// transaction is refused whole. Events of types outside the Matrix and
// Caldicott namespaces are counted and dropped: no rule reads them.
func (s *Intake) parseEvents(raw []json.RawMessage) ([]store.InboxEvent, error) {
	out := make([]store.InboxEvent, 0, len(raw))
	for i, r := range raw {
		var h eventHeader
		if err := json.Unmarshal(r, &h); err != nil {
			return nil, fmt.Errorf("event %d is not a JSON object: %v", i, err)
		}
		switch {
		case h.EventID == "":
			return nil, fmt.Errorf("event %d has no event_id", i)
		case h.RoomID == "":
			return nil, fmt.Errorf("event %d (%s) has no room_id", i, h.EventID)
		case h.Type == "":
			return nil, fmt.Errorf("event %d (%s) has no type", i, h.EventID)
		}
		if !knownNamespace(h.Type) {
			s.counters.Ignored.WithLabelValues("unknown_type").Inc()
			continue
		}
		if h.Sender == s.botID && h.StateKey == nil && ownEchoTypes[h.Type] {
			s.counters.Ignored.WithLabelValues("own_echo").Inc()
			continue
		}
		out = append(out, store.InboxEvent{EventID: h.EventID, RoomID: h.RoomID, Type: h.Type, JSON: r})
	}
	return out, nil
}

func knownNamespace(eventType string) bool {
	return strings.HasPrefix(eventType, "m.") || strings.HasPrefix(eventType, "org.caldicott.")
}
