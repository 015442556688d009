package audithead

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/config"
	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

// ErrUnreachable wraps the failure to reach the homeserver at all.
var ErrUnreachable = errors.New("the homeserver cannot be reached")

// Copy is the published head as found in one room.
type Copy struct {
	// Where names the room for people: "the management room".
	Where string
	Room  id.RoomID
	// Head is valid when Problem is "".
	Head Head
	// Problem says why the copy cannot be trusted: it was overwritten by
	// someone else, emptied, or its signature does not verify.
	Problem string
}

// Reading is what the homeserver holds.
type Reading struct {
	Copies []Copy
	// NotPublished names rooms that hold no head yet.
	NotPublished []string
	// Unread names rooms that could not be read, with the reason.
	Unread []string
}

// ReadPublished reads the published heads from the management room and
// the attestation room, with a client holding the appservice's token, and
// checks each one's signature against the bot's master key as the
// homeserver publishes it. The error is ErrUnreachable (wrapped) when the
// homeserver does not answer at all.
func ReadPublished(ctx context.Context, cli *mautrix.Client, cfg *config.Config) (Reading, error) {
	var r Reading
	if _, err := cli.Versions(ctx); err != nil {
		return r, fmt.Errorf("%w at %s: %v", ErrUnreachable, cfg.Homeserver.Address, err)
	}
	bot := id.UserID(cfg.BotUserID())
	master, keyErr := masterKeyOf(ctx, cli, bot)
	rooms := []struct{ where, ref string }{
		{"the management room", cfg.Trust.ManagementRoom},
		{"the attestation room", "#" + cfg.Federation.AttestationAlias + ":" + cfg.Homeserver.Domain},
	}
	for _, room := range rooms {
		if room.ref == "" {
			continue
		}
		roomID, err := resolve(ctx, cli, room.ref)
		if errors.Is(err, mautrix.MNotFound) {
			r.NotPublished = append(r.NotPublished, room.where+" (it does not exist)")
			continue
		}
		if err != nil {
			r.Unread = append(r.Unread, fmt.Sprintf("%s (%s): %v", room.where, room.ref, err))
			continue
		}
		raw, sender, found, err := headState(ctx, cli, roomID)
		switch {
		case err != nil:
			r.Unread = append(r.Unread, fmt.Sprintf("%s (%s): %v", room.where, roomID, err))
			continue
		case !found:
			r.NotPublished = append(r.NotPublished, room.where)
			continue
		}
		if keyErr != nil {
			r.Unread = append(r.Unread, fmt.Sprintf("%s (%s): %v", room.where, roomID, keyErr))
			continue
		}
		c := Copy{Where: room.where, Room: roomID}
		if c.Head, err = CheckSigned(raw, sender, bot, master); err != nil {
			c.Problem = err.Error()
		}
		r.Copies = append(r.Copies, c)
	}
	return r, nil
}

// Compare checks the database against one valid published copy. It returns
// "" when the chain holds the published entry with the published hash, and
// otherwise says, for people, what was done to the log.
func Compare(ctx context.Context, st *store.Store, c Copy) (string, error) {
	when := c.Head.Time().Format("2006-01-02 15:04:05 MST")
	e, err := st.AuditEntryAt(ctx, c.Head.Seq)
	if errors.Is(err, store.ErrNotFound) {
		headSeq, _, err := st.AuditHead(ctx)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("entry %d was published in %s on %s, but the log in the database ends at entry %d: entries were deleted (the chain was cut short)", c.Head.Seq, c.Where, when, headSeq), nil
	}
	if err != nil {
		return "", err
	}
	if e.Hash != c.Head.Hash {
		return fmt.Sprintf("entry %d in the database is not the entry %d published in %s on %s (hash %s, published %s): the log was rewritten from entry %d or earlier, and its hashes recomputed to hide it", c.Head.Seq, c.Head.Seq, c.Where, when, short(e.Hash), short(c.Head.Hash), c.Head.Seq), nil
	}
	return "", nil
}

func short(h string) string {
	if len(h) > 16 {
		return h[:16] + "…"
	}
	return h
}

// resolve turns a room alias into its ID; a room ID is returned as is.
func resolve(ctx context.Context, cli *mautrix.Client, ref string) (id.RoomID, error) {
	if strings.HasPrefix(ref, "!") {
		return id.RoomID(ref), nil
	}
	resp, err := cli.ResolveAlias(ctx, id.RoomAlias(ref))
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", ref, err)
	}
	return resp.RoomID, nil
}

// headState reads the room's state and returns the audit head's raw content
// and sender, if there is one.
func headState(ctx context.Context, cli *mautrix.Client, room id.RoomID) (json.RawMessage, id.UserID, bool, error) {
	var state []struct {
		Type     string          `json:"type"`
		StateKey *string         `json:"state_key"`
		Sender   id.UserID       `json:"sender"`
		Content  json.RawMessage `json:"content"`
	}
	if _, err := cli.MakeRequest(ctx, http.MethodGet, cli.BuildClientURL("v3", "rooms", room, "state"), nil, &state); err != nil {
		return nil, "", false, fmt.Errorf("read the state of %s: %w", room, err)
	}
	for _, s := range state {
		if s.Type == policy.AuditHeadEventType && s.StateKey != nil && *s.StateKey == "" {
			return s.Content, s.Sender, true, nil
		}
	}
	return nil, "", false, nil
}

// masterKeyOf is the user's cross-signing master key as their homeserver
// publishes it (unpadded base64).
func masterKeyOf(ctx context.Context, cli *mautrix.Client, user id.UserID) (string, error) {
	resp, err := cli.QueryKeys(ctx, &mautrix.ReqQueryKeys{DeviceKeys: mautrix.DeviceKeysRequest{user: mautrix.DeviceIDList{}}})
	if err != nil {
		return "", fmt.Errorf("the bot's master key cannot be read: %w", err)
	}
	mk, ok := resp.MasterKeys[user]
	if !ok || len(mk.Keys) != 1 || mk.UserID != user {
		return "", fmt.Errorf("%s publishes no cross-signing master key to check the signature with", user)
	}
	return strings.TrimRight(mk.FirstKey().String(), "="), nil
}
