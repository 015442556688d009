//go:build goolm

package verification

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.mau.fi/util/dbutil"
	"maunium.net/go/mautrix/crypto"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/store"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.StopPostgres()
	os.Exit(code)
}

// keyFixture is a crypto store holding room keys of known age.
type keyFixture struct {
	t  *testing.T
	st *store.Store
	cs *crypto.SQLCryptoStore
}

func newKeyFixture(t *testing.T, engine string) *keyFixture {
	t.Helper()
	ctx := context.Background()
	uri := filepath.Join(t.TempDir(), "caldicott.db")
	if engine == store.Postgres {
		uri = testenv.Postgres(t)
	}
	st, err := store.Open(ctx, engine, uri, 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	cs := crypto.NewSQLCryptoStore(st.DB(), dbutil.ZeroLogger(zerolog.Nop()), "", "", pickleKeyFor("as-token"))
	if err := cs.DB.Upgrade(ctx); err != nil {
		t.Fatal(err)
	}
	return &keyFixture{t: t, st: st, cs: cs}
}

// curve is a sender's identity key, as long as a real one.
func curve(name string) id.SenderKey {
	return id.SenderKey((name + strings.Repeat("A", 43))[:43])
}

// session stores a room key received at received and records messages
// the bot decrypted with it, sent at the times given; it returns the
// session's ID.
func (f *keyFixture) session(room id.RoomID, sender id.SenderKey, received time.Time, sent ...time.Time) id.SessionID {
	f.t.Helper()
	ctx := context.Background()
	out, err := crypto.NewOutboundGroupSession(room, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	in, err := crypto.NewInboundGroupSession(sender, "signing", room, out.Internal.Key(), 7*24*time.Hour, 100, false)
	if err != nil {
		f.t.Fatal(err)
	}
	in.ReceivedAt = received.UTC()
	if err := f.cs.PutGroupSession(ctx, in); err != nil {
		f.t.Fatal(err)
	}
	for i, ts := range sent {
		evt := id.EventID(fmt.Sprintf("$%s-%d", in.ID(), i))
		if ok, err := f.cs.ValidateMessageIndex(ctx, sender, in.ID(), evt, uint(i), ts.UnixMilli()); err != nil || !ok {
			f.t.Fatalf("record message %d: %v %v", i, ok, err)
		}
	}
	return in.ID()
}

func (f *keyFixture) has(room id.RoomID, session id.SessionID) bool {
	f.t.Helper()
	sess, err := f.cs.GetGroupSession(context.Background(), room, session)
	if err != nil {
		f.t.Fatal(err)
	}
	return sess != nil
}

func (f *keyFixture) indexes(session id.SessionID) int {
	f.t.Helper()
	var n int
	if err := f.st.DB().QueryRow(context.Background(), `SELECT COUNT(*) FROM crypto_message_index WHERE session_id = $1`, session).Scan(&n); err != nil {
		f.t.Fatal(err)
	}
	return n
}

// TestDiscardSpentRoomKeys: after a caught-up retention sweep, a key whose
// messages are all deleted goes, with its replay records; keys of a held
// room, of a room whose expired messages await the record, of messages
// still within retention, still in their sender's rotation period, and the
// bot's own, stay. One audit entry counts what went; a second run finds
// nothing.
func TestDiscardSpentRoomKeys(t *testing.T) {
	for _, engine := range []string{store.SQLite, store.Postgres} {
		t.Run(engine, func(t *testing.T) { testDiscardSpentRoomKeys(t, engine) })
	}
}

func testDiscardSpentRoomKeys(t *testing.T, engine string) {
	ctx := context.Background()
	f := newKeyFixture(t, engine)
	day := 24 * time.Hour
	swept := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) time.Time { return swept.Add(-d) }
	const open, held, waiting = id.RoomID("!open:test"), id.RoomID("!held:test"), id.RoomID("!waiting:test")
	for room, backlog := range map[id.RoomID]int64{open: 0, held: 0, waiting: 1} {
		// A 14-day room: the pass deleted everything up to a message 2 days old.
		if err := f.st.SaveSweepState(ctx, store.SweepState{RoomID: room.String(), LastStarted: swept, LastFinished: swept, OldestKept: ago(2 * day), Backlog: backlog}); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.st.AddLegalHold(ctx, store.LegalHold{RoomID: held.String(), Reason: "inquest", HeldBy: "@ig:test", Since: ago(day)}); err != nil {
		t.Fatal(err)
	}
	alice, bot := curve("alice"), curve("bot")
	spent := f.session(open, alice, ago(30*day), ago(29*day), ago(25*day))
	retained := f.session(open, alice, ago(30*day), ago(29*day), ago(time.Hour))
	rotating := f.session(open, alice, ago(5*day), ago(5*day))
	own := f.session(open, bot, ago(30*day))
	inHeld := f.session(held, alice, ago(30*day), ago(25*day))
	inWaiting := f.session(waiting, alice, ago(30*day), ago(25*day))

	done, err := DiscardSpentRoomKeys(ctx, f.st, bot, "@caldicott:test")
	if err != nil {
		t.Fatal(err)
	}
	if done != (SpentKeys{Sessions: 1, Rooms: 1, MessageIndexes: 2}) {
		t.Errorf("discarded %+v, want the one spent session and its 2 replay records", done)
	}
	if f.has(open, spent) || f.indexes(spent) != 0 {
		t.Error("the key whose messages retention deleted is still stored")
	}
	for name, k := range map[string]struct {
		room    id.RoomID
		session id.SessionID
	}{"retained": {open, retained}, "rotating": {open, rotating}, "own": {open, own}, "held": {held, inHeld}, "waiting": {waiting, inWaiting}} {
		if !f.has(k.room, k.session) {
			t.Errorf("the %s key was discarded", name)
		}
	}
	var audited []SpentKeys
	err = f.st.AuditSince(ctx, time.Time{}, func(e store.AuditEntry) error {
		if e.Action == ActionRoomKeysDiscarded {
			var d SpentKeys
			if err := json.Unmarshal([]byte(e.Detail), &d); err != nil {
				return err
			}
			audited = append(audited, d)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(audited) != 1 || audited[0] != done {
		t.Errorf("audit entries %+v, want one counting %+v", audited, done)
	}
	again, err := DiscardSpentRoomKeys(ctx, f.st, bot, "@caldicott:test")
	if err != nil || again.Sessions != 0 {
		t.Errorf("second run discarded %+v (%v), want nothing", again, err)
	}
}
