package appservice_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// TestExpiredFileKeptWhileStillNeeded: Dendrite keeps a file's bytes once
// per content hash, so deleting an expired message's file deletes it for
// everything that points at the same URI or the same bytes. The sweep
// deletes a file only when nothing that must be kept uses it: a file also
// posted in a room on legal hold stays; the same bytes uploaded twice stay
// while a message that has not expired uses the other copy; a room's
// avatar and a member's profile picture stay; a file that only expired
// messages point at goes.
func TestExpiredFileKeptWhileStillNeeded(t *testing.T) {
	tr := trust.New(t, trust.Options{Host: "127.0.0.11", ConfigYAML: sweepYAML("3s", 100)})
	tr.Config.Retention.MediaPath = tr.HS.MediaPath()
	tr.Start(t)
	bot := tr.BotID()
	alice := tr.HS.RegisterUser(t, "alice", false)
	ig, mgmt := tr.IGAdmin(t)
	swept := tr.ClinicalRoom(t, alice) // keeps messages 3 s
	held := tr.ClinicalRoom(t, alice)
	testenv.Say(t, ig, mgmt, "!policy hold on "+held.String()+" complaint 2026/201")
	testenv.WaitForNotice(t, ig, mgmt, bot, "Legal hold placed on "+held.String())
	longer := tr.ClinicalRoom(t, alice)
	testenv.Say(t, alice, longer, "!policy retention 1h")
	testenv.WaitForState(t, alice, longer, "m.room.retention", "max_lifetime", float64(3600000))

	upload := func(what string) ([]byte, id.ContentURI) {
		t.Helper()
		data := bytes.Repeat([]byte(what+" "), 400)
		up, err := alice.UploadBytes(ctx, data, "image/png")
		if err != nil {
			t.Fatalf("upload %s: %v", what, err)
		}
		return data, up.ContentURI
	}
	image := func(room id.RoomID, uri id.ContentURI) id.EventID {
		return testenv.Send(t, alice, room, &event.MessageEventContent{MsgType: event.MsgImage, Body: "photo.png", URL: uri.CUString()}, event.EventMessage)
	}
	type file struct {
		name string
		data []byte
		uri  id.ContentURI
	}
	var kept []file
	var expiring []id.EventID

	// Only expired messages point at it: deleted.
	onlyExpired, onlyExpiredURI := upload("wound photo, bed 3")
	expiring = append(expiring, image(swept, onlyExpiredURI))

	// Posted in the held room; a message in the swept room points at the
	// same URI (the attack: anyone can name any URI).
	heldData, heldURI := upload("complaint evidence")
	image(held, heldURI)
	expiring = append(expiring, testenv.Send(t, alice, swept, &event.MessageEventContent{MsgType: event.MsgFile, Body: "x.pdf", URL: heldURI.CUString()}, event.EventMessage))
	kept = append(kept, file{"a file also posted in a room on legal hold", heldData, heldURI})

	// The same bytes uploaded twice: two URIs, one copy on disk.
	twiceData, firstURI := upload("discharge letter")
	_, secondURI := upload("discharge letter")
	if firstURI == secondURI {
		t.Fatal("the homeserver gave one URI for two uploads; the case proves nothing")
	}
	expiring = append(expiring, image(swept, firstURI))
	image(longer, secondURI)
	kept = append(kept, file{"the same bytes uploaded twice, one message not yet expired (its URI)", twiceData, firstURI},
		file{"the same bytes uploaded twice, one message not yet expired (the other URI)", twiceData, secondURI})

	// The swept room's own avatar, and alice's profile picture.
	roomAvatarData, roomAvatar := upload("ward logo")
	testenv.SetState(t, alice, swept, event.StateRoomAvatar.Type, map[string]any{"url": roomAvatar.CUString()})
	profileData, profile := upload("alice's face")
	if err := alice.SetAvatarURL(ctx, profile); err != nil {
		t.Fatalf("set profile picture: %v", err)
	}
	expiring = append(expiring, image(swept, roomAvatar), image(swept, profile))
	kept = append(kept, file{"a room's avatar", roomAvatarData, roomAvatar}, file{"a member's profile picture", profileData, profile})

	waitRedacted(t, alice, swept, 30*time.Second, expiring...)
	// Files are judged once the homeserver has had time to deliver what it
	// held back since Caldicott started (70 s), then after each sweep.
	testenv.Eventually(t, 90*time.Second, "every expired message's file to be judged", func() (bool, string) {
		left, err := tr.Store.DueMediaCandidates(ctx, time.Now().Add(time.Hour), 100)
		if err != nil {
			t.Fatal(err)
		}
		return len(left) == 0, fmt.Sprint(len(left), " waiting")
	})
	if ok, how := downloads(alice, onlyExpiredURI, onlyExpired); ok {
		t.Errorf("a file only expired messages pointed at was kept: %s", how)
	}
	for _, f := range kept {
		if ok, how := downloads(alice, f.uri, f.data); !ok {
			t.Errorf("%s was deleted: %s", f.name, how)
		}
	}
	// Each kept for its own reason.
	metrics := scrape(t, tr)
	for _, want := range []string{`caldicott_retention_media_kept_total{reason="legal_hold"} 1`, `caldicott_retention_media_kept_total{reason="reference_not_expired"} 1`,
		`caldicott_retention_media_kept_total{reason="avatar"} 2`, "caldicott_retention_media_deleted_total 1"} {
		if !strings.Contains(metrics, want+"\n") {
			t.Errorf("metrics lack %s:\n%s", want, grepLines(metrics, "caldicott_retention_media"))
		}
	}
	entries, err := tr.Store.AuditForRoom(ctx, swept.String(), 500)
	if err != nil {
		t.Fatal(err)
	}
	var deletions []string
	for _, e := range entries {
		if e.Action == "delete_media" {
			deletions = append(deletions, e.Detail)
		}
	}
	if len(deletions) != 1 || !strings.Contains(deletions[0], onlyExpiredURI.String()) {
		t.Fatalf("audited file deletions %v, want only %s", deletions, onlyExpiredURI)
	}
}

// downloads reports whether a file can be downloaded with these bytes.
func downloads(cli *mautrix.Client, uri id.ContentURI, want []byte) (bool, string) {
	got, err := cli.DownloadBytes(ctx, uri)
	if err != nil {
		return false, err.Error()
	}
	if !bytes.Equal(got, want) {
		return false, fmt.Sprintf("%d bytes, not the %d uploaded", len(got), len(want))
	}
	return true, "downloads"
}
