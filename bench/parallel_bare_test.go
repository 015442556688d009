package bench_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
	"maunium.net/go/mautrix"
	mas "maunium.net/go/mautrix/appservice"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
)

// bareAppservice is the yardstick for Caldicott's enforcement latency: an
// appservice that does nothing but kick, from its own rooms, everyone who
// is invited or joins (bar the people it keeps). No store, no rules, no
// room reads — the least any appservice on the same Dendrite can do.
type bareAppservice struct {
	bot  id.UserID
	cli  *mautrix.Client
	keep sync.Map // user ID → true: never kicked
	errs chan error
}

// startBareAppservice registers a bare appservice (bot @barebot) with the
// trust's Dendrite and serves its transactions. trust.New has already
// started Dendrite, whose config lists appservices only at start-up, so
// Dendrite is restarted with the extra registration.
func startBareAppservice(t *testing.T, tr *trust.Trust) *bareAppservice {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rateLimited := false
	reg := &mas.Registration{
		ID: "barebot", URL: "http://" + ln.Addr().String(),
		AppToken: randomHex(20), ServerToken: randomHex(20),
		SenderLocalpart: "barebot", RateLimited: &rateLimited,
		Namespaces: mas.Namespaces{UserIDs: mas.NamespaceList{{
			Regex: "^" + regexp.QuoteMeta("@barebot:"+tr.HS.ServerName) + "$", Exclusive: true,
		}}},
	}
	regPath := filepath.Join(t.TempDir(), "barebot-registration.yaml")
	if err := reg.Save(regPath); err != nil {
		t.Fatal(err)
	}
	bare := &bareAppservice{bot: id.UserID("@barebot:" + tr.HS.ServerName), errs: make(chan error, 16)}
	if bare.cli, err = mautrix.NewClient(tr.HS.URL, bare.bot, reg.AppToken); err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: bare.handler(reg.ServerToken), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	tr.HS.Stop()
	addDendriteRegistration(t, tr.HS, regPath)
	tr.HS.Start(t)
	return bare
}

// addDendriteRegistration appends an appservice registration to the
// config Dendrite was first started with.
func addDendriteRegistration(t *testing.T, hs *testenv.Homeserver, regPath string) {
	t.Helper()
	cfgPath := filepath.Join(hs.Dir, "dendrite.yaml")
	data, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatalf("parse %s: %v", cfgPath, err)
	}
	asAPI, _ := cfg["app_service_api"].(map[string]any)
	if asAPI == nil {
		t.Fatalf("%s has no app_service_api section", cfgPath)
	}
	files, _ := asAPI["config_files"].([]any)
	asAPI["config_files"] = append(files, regPath)
	if data, err = yaml.Marshal(cfg); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfgPath, data, 0o600); err != nil {
		t.Fatal(err)
	}
	hs.AddRegistration(regPath)
}

// handler answers Dendrite's transactions at once and kicks in the
// background, as a minimal appservice would.
func (b *bareAppservice) handler(hsToken string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /_matrix/app/v1/transactions/{txn}", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+hsToken {
			http.Error(w, `{"errcode":"M_FORBIDDEN"}`, http.StatusForbidden)
			return
		}
		var txn struct {
			Events []struct {
				Type     string  `json:"type"`
				RoomID   string  `json:"room_id"`
				Sender   string  `json:"sender"`
				StateKey *string `json:"state_key"`
				Content  struct {
					Membership string `json:"membership"`
				} `json:"content"`
			} `json:"events"`
		}
		if err := json.NewDecoder(r.Body).Decode(&txn); err != nil {
			http.Error(w, `{"errcode":"M_BAD_JSON"}`, http.StatusBadRequest)
			return
		}
		for _, e := range txn.Events {
			if e.Type != "m.room.member" || e.StateKey == nil || e.Sender == b.bot.String() {
				continue
			}
			if m := e.Content.Membership; m != "invite" && m != "join" {
				continue
			}
			if _, kept := b.keep.Load(*e.StateKey); kept {
				continue
			}
			go b.kick(id.RoomID(e.RoomID), id.UserID(*e.StateKey))
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("{}"))
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, `{"errcode":"M_NOT_FOUND"}`, http.StatusNotFound)
	})
	return mux
}

func (b *bareAppservice) kick(room id.RoomID, user id.UserID) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := b.cli.KickUser(ctx, room, &mautrix.ReqKickUser{UserID: user, Reason: "this room admits no one"}); err != nil {
		select {
		case b.errs <- fmt.Errorf("barebot kick %s from %s: %w", user, room, err):
		default:
		}
	}
}

// room creates a room of the bare appservice's in which admin has power
// 100 to invite and members (an observer) are kept; Caldicott's bot is not in it.
func (b *bareAppservice) room(t *testing.T, admin *mautrix.Client, members ...*mautrix.Client) id.RoomID {
	t.Helper()
	req := &mautrix.ReqCreateRoom{Preset: "private_chat", Name: "Bare appservice"}
	for _, m := range append([]*mautrix.Client{admin}, members...) {
		b.keep.Store(m.UserID.String(), true)
		req.Invite = append(req.Invite, m.UserID)
	}
	resp, err := b.cli.CreateRoom(ctx, req)
	if err != nil {
		t.Fatalf("barebot creates its room: %v", err)
	}
	for _, m := range append([]*mautrix.Client{admin}, members...) {
		if _, err := m.JoinRoomByID(ctx, resp.RoomID); err != nil {
			t.Fatalf("%s joins the bare room: %v", m.UserID, err)
		}
	}
	testenv.SetPower(t, b.cli, resp.RoomID, admin.UserID, 100)
	return resp.RoomID
}
