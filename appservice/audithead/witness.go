package audithead

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/config"
	"github.com/caldicott/caldicott/policy"
)

// Another trust's homeserver is the witness that the operator of this trust
// cannot rewrite: its copy of the attestation room's history keeps every
// head this trust's bot ever published there. Caldicott has no account on
// that server, and an appservice cannot make signed federation requests
// (/state, /backfill) with its homeserver's key; so the other trust's IG
// team gives the auditor a token of an ordinary account there that has
// joined this trust's attestation room (it is public, its history
// "shared"), and the master key of our bot that their Caldicott pinned.

// History is what one homeserver serves of the published heads' history.
type History struct {
	// Server names the homeserver for people (its client URL's host).
	Server string
	// Key is the bot's master key the heads were checked against, and
	// KeyFrom says whose key it is.
	Key, KeyFrom string
	// Heads are every head read, oldest first, each served by Server.
	Heads []Published
	// Read names the rooms read, with how many heads each held.
	Read []string
	// rooms are the IDs of the rooms read.
	rooms map[id.RoomID]bool
	// Unread names rooms that could not be read, with the reason.
	Unread []string
}

var headType = event.Type{Type: policy.AuditHeadEventType, Class: event.StateEventType}

// OwnHistory reads the history of the management and attestation rooms
// from this trust's own homeserver (cli holds the appservice's token).
// pinned, when not "", is the bot's master key as another trust pinned it;
// otherwise the heads are checked against the key the homeserver serves.
func OwnHistory(ctx context.Context, cli *mautrix.Client, cfg *config.Config, pinned, pinnedBy string) (History, error) {
	h := History{Server: hostOf(cfg.Homeserver.Address)}
	if _, err := cli.Versions(ctx); err != nil {
		return h, fmt.Errorf("%w at %s: %v", ErrUnreachable, cfg.Homeserver.Address, err)
	}
	bot := id.UserID(cfg.BotUserID())
	if err := h.setKey(ctx, cli, bot, pinned, pinnedBy); err != nil {
		h.Unread = append(h.Unread, err.Error())
		return h, nil
	}
	for _, room := range []struct{ where, ref string }{
		{"the management room", cfg.Trust.ManagementRoom},
		{"the attestation room", attestationAlias(cfg)},
	} {
		if room.ref == "" {
			continue
		}
		roomID, err := resolve(ctx, cli, room.ref)
		if errors.Is(err, mautrix.MNotFound) {
			continue // nothing published there yet; ReadPublished says so
		}
		if err != nil {
			h.Unread = append(h.Unread, fmt.Sprintf("%s (%s): %v", room.where, room.ref, err))
			continue
		}
		h.read(ctx, cli, roomID, fmt.Sprintf("%s (%s)", room.where, roomID), bot)
	}
	return h, nil
}

// WitnessHistory reads, from another trust's homeserver with an account
// there, the history of every room that account has joined in which this
// trust's bot published its head (the attestation room; also a room the
// alias no longer names, should the alias have been moved to a fresh
// room). pinned is our bot's master key as that trust pinned it; "" falls
// back to the key that homeserver serves, and says so.
func WitnessHistory(ctx context.Context, cli *mautrix.Client, cfg *config.Config, pinned string) (History, error) {
	h := History{Server: hostOf(cli.HomeserverURL.String())}
	if _, err := cli.Versions(ctx); err != nil {
		return h, fmt.Errorf("%w at %s: %v", ErrUnreachable, cli.HomeserverURL, err)
	}
	bot := id.UserID(cfg.BotUserID())
	if err := h.setKey(ctx, cli, bot, pinned, PinnedBy(cli.HomeserverURL.String())); err != nil {
		h.Unread = append(h.Unread, err.Error())
		return h, nil
	}
	joined, err := cli.JoinedRooms(ctx)
	if err != nil {
		h.Unread = append(h.Unread, fmt.Sprintf("the witness account's rooms: %v", err))
		return h, nil
	}
	alias := attestationAlias(cfg)
	// Resolving the alias asks this trust's homeserver, which may be down
	// (or lie); the room's own canonical alias, as the witness holds it,
	// names it too.
	att, attErr := resolve(ctx, cli, alias)
	inAtt := false
	for _, room := range joined.JoinedRooms {
		var head json.RawMessage
		if err := cli.StateEvent(ctx, room, headType, "", &head); err != nil {
			continue // no head of anyone's here (or unreadable): not one of ours
		}
		var named struct {
			Alias string `json:"alias"`
		}
		_ = cli.StateEvent(ctx, room, event.StateCanonicalAlias, "", &named)
		if room == att || named.Alias == alias {
			inAtt = true
			h.read(ctx, cli, room, fmt.Sprintf("the attestation room (%s)", room), bot)
			continue
		}
		// Another room with heads: ours only if our bot ever published
		// there (another trust's attestation room is not ours to judge).
		where := fmt.Sprintf("a room holding heads (%s)", room)
		heads, err := ReadHistory(ctx, cli, room, where, bot, h.Key)
		if err != nil {
			h.Unread = append(h.Unread, fmt.Sprintf("%s: %v", where, err))
			continue
		}
		if publishedBy(heads, bot) {
			h.add(room, where, heads)
		}
	}
	if !inAtt {
		reason := "the witness account has not joined it; join it with that account so its history can be read"
		if attErr != nil {
			reason = attErr.Error()
		}
		h.Unread = append(h.Unread, fmt.Sprintf("the attestation room (%s): %s", attestationAlias(cfg), reason))
	}
	return h, nil
}

// setKey settles the key the heads are checked against.
func (h *History) setKey(ctx context.Context, cli *mautrix.Client, bot id.UserID, pinned, pinnedBy string) error {
	if pinned = strings.TrimRight(strings.ReplaceAll(pinned, " ", ""), "="); pinned != "" {
		h.Key, h.KeyFrom = pinned, pinnedBy
		return nil
	}
	served, err := masterKeyOf(ctx, cli, bot)
	if err != nil {
		return err
	}
	h.Key, h.KeyFrom = served, "as "+h.Server+" serves it (no pinned key given)"
	return nil
}

// read adds one room's heads.
func (h *History) read(ctx context.Context, cli *mautrix.Client, room id.RoomID, where string, bot id.UserID) {
	heads, err := ReadHistory(ctx, cli, room, where, bot, h.Key)
	if err != nil {
		h.Unread = append(h.Unread, fmt.Sprintf("%s: %v", where, err))
		return
	}
	h.add(room, where, heads)
}

// publishedBy: some of the heads were sent by bot.
func publishedBy(heads []Published, bot id.UserID) bool {
	for _, p := range heads {
		if p.Sender == bot {
			return true
		}
	}
	return false
}

// add records one room's heads as served by this homeserver.
func (h *History) add(room id.RoomID, where string, heads []Published) {
	for i := range heads {
		heads[i].ServedBy = []string{h.Server}
	}
	h.Heads = append(h.Heads, heads...)
	h.Read = append(h.Read, fmt.Sprintf("%s (%d head(s))", where, len(heads)))
	if h.rooms == nil {
		h.rooms = map[id.RoomID]bool{}
	}
	h.rooms[room] = true
}

// PinnedBy says, for people, whose pin a key is: the trust of that
// homeserver (its client URL).
func PinnedBy(homeserver string) string { return "pinned by the trust of " + hostOf(homeserver) }

func attestationAlias(cfg *config.Config) string {
	return "#" + cfg.Federation.AttestationAlias + ":" + cfg.Homeserver.Domain
}

// hostOf is a client URL's host, to name a homeserver.
func hostOf(u string) string {
	s := strings.TrimPrefix(strings.TrimPrefix(u, "https://"), "http://")
	s, _, _ = strings.Cut(s, "/")
	return s
}
