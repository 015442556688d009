// Package records sends clinical messages to the patient record: a room
// admin replies to a message with `!policy record <NHS number>`, and the
// message — attributed to its sender with their professional registration
// from the staff directory — goes to the trust's FHIR R4 server as a
// Communication (bridges/epr). Delivery is durable: the request is stored
// first and sent by a job that retries with backoff until the record
// accepts it; until then retention keeps the message, and room admins are
// reminded before it would have expired. The room is told when the record
// accepts or refuses it.
package records

import (
	"context"
	"net/http"
	"time"

	"maunium.net/go/mautrix/event"

	"github.com/caldicott/caldicott/appservice/kit"
	"github.com/caldicott/caldicott/bridges/epr"
)

// Decrypter reads an encrypted message with the bot's own device
// (package verification).
type Decrypter interface {
	Decrypt(ctx context.Context, evt *event.Event) (*event.Event, error)
}

// Records is the capability.
type Records struct {
	*kit.Kit
	Decrypt Decrypter
	// Unreachable, when set, is 1 while the record cannot be reached and
	// 0 once it answers (caldicott_records_unreachable).
	Unreachable Gauge
	client      *epr.Client
	wake        chan struct{}
	outage      outage
}

// New builds the capability, reading encrypted messages with decrypt;
// without records.fhir_base_url it refuses `!policy record` and sends
// nothing.
func New(k *kit.Kit, decrypt Decrypter) *Records {
	r := &Records{Kit: k, Decrypt: decrypt, wake: make(chan struct{}, 1)}
	if base := k.Cfg.Records.FHIRBaseURL; base != "" {
		r.client = &epr.Client{BaseURL: base, Token: k.Cfg.Records.Token, HTTP: &http.Client{Timeout: 30 * time.Second}}
	}
	return r
}

// Enabled says whether a patient record is configured.
func (r *Records) Enabled() bool { return r.client != nil }

// Gauge is the one metric method this package needs (a Prometheus gauge).
type Gauge interface{ Set(float64) }
