package records

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/appservice/kit"
	"github.com/caldicott/caldicott/bridges/epr"
	"github.com/caldicott/caldicott/config"
	"github.com/caldicott/caldicott/store"
)

// Status says what waits for the record — also when the record has been
// disconnected since the messages were marked: they are still kept from
// deletion, and the room must be able to see why.
func TestStatusLine(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, store.SQLite, filepath.Join(t.TempDir(), "caldicott.db"), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const room, quiet = "!ward:trust", "!quiet:trust"
	if _, err := st.AddRecord(ctx, store.PatientRecord{RoomID: room, EventID: "$advice", CommandID: "$cmd", RecordedBy: "@alice:trust", SentAt: time.Now(), Payload: "{}"}); err != nil {
		t.Fatal(err)
	}
	connected := &epr.Client{BaseURL: "http://127.0.0.1:1/fhir"}
	tests := []struct {
		name   string
		client *epr.Client
		room   string
		want   string
	}{
		{"connected, waiting", connected, room, "Patient record: 1 message(s) waiting (kept until accepted):"},
		{"connected, nothing waiting", connected, quiet, "Patient record: nothing waiting."},
		{"disconnected, waiting", nil, room, "not connected at this trust now (`records.fhir_base_url` is not set), but 1 message(s) marked for it wait here and are kept from deletion"},
		{"disconnected, nothing waiting: nothing said", nil, quiet, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Records{Kit: &kit.Kit{Cfg: &config.Config{}, Store: st, Now: st.Now}, client: tt.client}
			got := r.StatusLine(ctx, id.RoomID(tt.room))
			if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
				t.Errorf("status %q, want %q", got, tt.want)
			}
		})
	}
}
