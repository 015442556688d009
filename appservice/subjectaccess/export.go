package subjectaccess

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/store"
)

// Decrypter reads encrypted room events with the keys the bot holds.
type Decrypter interface {
	// Decrypt returns the event type and content inside an encrypted
	// event, or why it cannot be read.
	Decrypt(ctx context.Context, evt *event.Event) (eventType string, content json.RawMessage, err error)
}

// Exporter makes bundles.
type Exporter struct {
	// Reader reads the homeserver as the bot (the appservice's token).
	Reader *mautrix.Client
	Store  *store.Store
	// Keys decrypts; nil counts every encrypted event as unreadable.
	Keys Decrypter
	// Trust and Server name this trust in the manifest.
	Trust, Server string
	// PageSize is how many events one /messages request asks for.
	PageSize int
	Now      func() time.Time
}

// DefaultPageSize is the events per /messages request.
const DefaultPageSize = 100

// ActionExport is the audit entry of an export.
const ActionExport = "subject_access_export"

// MessageLine is one line of messages.jsonl.
type MessageLine struct {
	RoomID  string `json:"room_id"`
	EventID string `json:"event_id"`
	Sender  string `json:"sender"`
	// Time is origin_server_ts in RFC 3339 (UTC), TS the same in ms.
	Time string `json:"time"`
	TS   int64  `json:"origin_server_ts"`
	Type string `json:"type"`
	// Content is the message as sent (decrypted when it was encrypted).
	Content json.RawMessage `json:"content,omitempty"`
	// Encrypted: it was end-to-end encrypted in the room.
	Encrypted bool `json:"encrypted,omitempty"`
	// Unreadable says why an encrypted message could not be decrypted.
	Unreadable string `json:"unreadable,omitempty"`
	// Redacted: its content was deleted before the export.
	Redacted  bool     `json:"redacted,omitempty"`
	MatchedBy []string `json:"matched_by"`
}

// messageTypes are the room events exported: what people send.
var messageTypes = []string{event.EventMessage.Type, event.EventSticker.Type, event.EventReaction.Type}

// Export writes the bundle for req into b, then records the export in the
// audit log (who, whom, the range and the counts; never content) — also
// when it failed part-way, since some of it may have left already.
func (x *Exporter) Export(ctx context.Context, req Request, b Bundle) (Manifest, error) {
	m, err := x.export(ctx, req, b)
	outcome := "complete"
	if err != nil {
		outcome = "failed: " + err.Error()
	}
	if auditErr := x.audit(ctx, req, m, outcome); auditErr != nil {
		return m, errors.Join(err, auditErr)
	}
	return m, err
}

func (x *Exporter) export(ctx context.Context, req Request, b Bundle) (Manifest, error) {
	now := x.Now().UTC()
	m := Manifest{
		Format: ManifestFormat, Subject: req.Subject.String(), RequestedBy: req.RequestedBy, ExportedBy: req.Actor, Via: req.Via,
		ExportedAt: now.Format(time.RFC3339), Trust: x.Trust, Server: x.Server,
		Range: Range{Since: req.Since, Until: req.UntilText, From: req.From.UTC().Format(time.RFC3339Nano), To: req.Until.UTC().Format(time.RFC3339Nano)},
		Selection: []string{
			"messages.jsonl: the messages (m.room.message, m.sticker, m.reaction; encrypted ones decrypted where the bot's device holds the key) in the rooms Caldicott's bot is in, with origin_server_ts in the range, that the subject sent, whose m.mentions names them, or that contain their Matrix user ID. Display names are not matched. Per room, in room order (oldest first); rooms by room ID.",
			"audit.jsonl: Caldicott's audit entries in the range whose actor is the subject or whose reason or detail names their user ID, in chain order, with their hashes (check them with `caldicott audit verify`).",
		},
		Unreadable: map[string]int{},
		Notes: []string{
			"Only what Caldicott's bot can read is here: rooms it is not in, messages from before it joined a room (where history is visible to members from their joining), and encrypted messages whose keys its device never received are not.",
			"Media are referenced by their mxc:// URL in the content; the files themselves are not in the bundle. For encrypted files the content carries the key to decrypt them.",
			"Dates are UTC days; times are origin_server_ts, set by the sender's homeserver.",
		},
	}
	msgs, err := b.Create(MessagesFile)
	if err != nil {
		return m, err
	}
	mw := newSummedWriter(msgs)
	buf := bufio.NewWriter(mw)
	if err := x.writeMessages(ctx, req, json.NewEncoder(buf), &m); err != nil {
		return m, err
	}
	if err := buf.Flush(); err != nil {
		return m, fmt.Errorf("write %s: %w", MessagesFile, err)
	}
	m.Files = append(m.Files, File{Name: MessagesFile, SHA256: mw.hex(), Bytes: mw.bytes, Lines: mw.lines})

	aud, err := b.Create(AuditFile)
	if err != nil {
		return m, err
	}
	aw := newSummedWriter(aud)
	buf = bufio.NewWriter(aw)
	if err := x.writeAudit(ctx, req, json.NewEncoder(buf), &m); err != nil {
		return m, err
	}
	if err := buf.Flush(); err != nil {
		return m, fmt.Errorf("write %s: %w", AuditFile, err)
	}
	m.Files = append(m.Files, File{Name: AuditFile, SHA256: aw.hex(), Bytes: aw.bytes, Lines: aw.lines})
	if len(m.Unreadable) == 0 {
		m.Unreadable = nil
	}

	man, err := b.Create(ManifestFile)
	if err != nil {
		return m, err
	}
	manw := newSummedWriter(man)
	raw, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return m, err
	}
	if _, err := manw.Write(append(raw, '\n')); err != nil {
		return m, fmt.Errorf("write %s: %w", ManifestFile, err)
	}
	sums, err := b.Create(SumsFile)
	if err != nil {
		return m, err
	}
	// The format of sha256sum: `sha256sum -c SHA256SUMS` checks the bundle.
	for _, f := range append(m.Files, File{Name: ManifestFile, SHA256: manw.hex()}) {
		if _, err := fmt.Fprintf(sums, "%s  %s\n", f.SHA256, f.Name); err != nil {
			return m, fmt.Errorf("write %s: %w", SumsFile, err)
		}
	}
	if err := b.Close(); err != nil {
		return m, fmt.Errorf("finish the bundle: %w", err)
	}
	return m, nil
}

// writeMessages searches every room the bot is in, in room ID order.
func (x *Exporter) writeMessages(ctx context.Context, req Request, enc *json.Encoder, m *Manifest) error {
	joined, err := x.Reader.JoinedRooms(ctx)
	if err != nil {
		return fmt.Errorf("list the bot's rooms: %w", err)
	}
	rooms := slices.Clone(joined.JoinedRooms)
	slices.Sort(rooms)
	for _, room := range rooms {
		m.Counts.RoomsSearched++
		err := x.scanRoom(ctx, room, req, func(evt *event.Event) error {
			return x.consider(ctx, req, evt, enc, m)
		})
		if errors.Is(err, mautrix.MForbidden) {
			m.RoomsNotRead = append(m.RoomsNotRead, RoomNote{RoomID: room.String(), Reason: err.Error()})
			continue
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// scanRoom calls fn for each room event in the range, oldest first. It
// pages backward from the newest event only far enough to find where the
// range begins, then forward through it, a page at a time.
func (x *Exporter) scanRoom(ctx context.Context, room id.RoomID, req Request, fn func(*event.Event) error) error {
	page := x.PageSize
	if page <= 0 {
		page = DefaultPageSize
	}
	from, start := "", ""
	found := false
	for {
		resp, err := x.Reader.Messages(ctx, room, from, "", mautrix.DirectionBackward, nil, page)
		if err != nil {
			return fmt.Errorf("read the history of %s: %w", room, err)
		}
		if len(resp.Chunk) == 0 {
			break // the beginning of what the bot may read
		}
		found, start = true, resp.End
		if newest(resp.Chunk) < req.From.UnixMilli() || resp.End == "" || resp.End == from {
			break
		}
		from = resp.End
	}
	if !found {
		return nil
	}
	// Forward from the lowest page found; a page may begin with the last
	// event of the one before, so those are skipped.
	from = start
	if from == "" {
		from = beginningToken
	}
	var previous map[id.EventID]bool
	for {
		resp, err := x.Reader.Messages(ctx, room, from, "", mautrix.DirectionForward, nil, page)
		if err != nil {
			return fmt.Errorf("read the history of %s: %w", room, err)
		}
		seen := make(map[id.EventID]bool, len(resp.Chunk))
		fresh := 0
		for _, evt := range resp.Chunk {
			seen[evt.ID] = true
			if previous[evt.ID] {
				continue
			}
			fresh++
			evt.RoomID = room
			if req.contains(evt.Timestamp) {
				if err := fn(evt); err != nil {
					return err
				}
			}
		}
		if fresh == 0 || oldest(resp.Chunk) >= req.Until.UnixMilli() || resp.End == "" || resp.End == from {
			return nil
		}
		from, previous = resp.End, seen
	}
}

// beginningToken is Dendrite's pagination token for "before the room's
// first event". Going forward needs one: Dendrite v0.15.2 answers a forward
// /messages without `from` with 400 (it turns the missing token into an
// empty one, which it cannot parse), and backward pagination ends with no
// token at the room's creation.
const beginningToken = "t0_0"

func newest(events []*event.Event) int64 {
	var ts int64
	for _, e := range events {
		ts = max(ts, e.Timestamp)
	}
	return ts
}

func oldest(events []*event.Event) int64 {
	ts := events[0].Timestamp
	for _, e := range events {
		ts = min(ts, e.Timestamp)
	}
	return ts
}

// consider writes one room event to messages.jsonl if it is a message
// about the subject.
func (x *Exporter) consider(ctx context.Context, req Request, evt *event.Event, enc *json.Encoder, m *Manifest) error {
	if evt.StateKey != nil {
		return nil
	}
	m.Counts.EventsRead++
	line := MessageLine{
		RoomID: evt.RoomID.String(), EventID: evt.ID.String(), Sender: evt.Sender.String(),
		Time: time.UnixMilli(evt.Timestamp).UTC().Format(time.RFC3339Nano), TS: evt.Timestamp,
		Type: evt.Type.Type, Content: json.RawMessage(evt.Content.VeryRaw),
		Redacted: evt.Unsigned.RedactedBecause != nil,
	}
	if len(line.Content) == 0 || string(line.Content) == "{}" {
		line.Content = nil
	}
	if evt.Type == event.EventEncrypted && !line.Redacted && line.Content != nil {
		line.Encrypted = true
		t, content, err := x.decrypt(ctx, evt)
		if err != nil {
			reason := err.Error()
			m.Counts.EncryptedUnreadable++
			m.Unreadable[reason]++
			if evt.Sender != req.Subject {
				return nil
			}
			m.Counts.EncryptedUnreadableFromSubject++
			line.Content, line.Unreadable = nil, reason
		} else {
			line.Type, line.Content = t, content
		}
	}
	// Messages, and encrypted events that stayed unreadable or were redacted.
	if !slices.Contains(messageTypes, line.Type) && line.Type != event.EventEncrypted.Type {
		return nil
	}
	line.MatchedBy = matchMessage(req.Subject, evt.Sender, line.Content)
	if len(line.MatchedBy) == 0 {
		return nil
	}
	m.Counts.Messages++
	if line.Encrypted && line.Unreadable == "" {
		m.Counts.MessagesDecrypted++
	}
	if err := enc.Encode(line); err != nil {
		return fmt.Errorf("write %s: %w", MessagesFile, err)
	}
	return nil
}

func (x *Exporter) decrypt(ctx context.Context, evt *event.Event) (string, json.RawMessage, error) {
	if x.Keys == nil {
		return "", nil, errors.New("this Caldicott has no encryption device")
	}
	return x.Keys.Decrypt(ctx, evt)
}

// writeAudit writes the audit entries in range about the subject.
func (x *Exporter) writeAudit(ctx context.Context, req Request, enc *json.Encoder, m *Manifest) error {
	subject := req.Subject.String()
	err := x.Store.AuditSince(ctx, req.From, func(e store.AuditEntry) error {
		if !req.contains(e.Time.UnixMilli()) {
			return nil
		}
		if e.Actor != subject && !mentionsUser(e.Reason, req.Subject) && !mentionsUser(e.Detail, req.Subject) {
			return nil
		}
		m.Counts.AuditEntries++
		return enc.Encode(e)
	})
	if err != nil {
		return fmt.Errorf("read the audit log: %w", err)
	}
	return nil
}

// audit records the export: who asked, about whom, what range, how much.
func (x *Exporter) audit(ctx context.Context, req Request, m Manifest, outcome string) error {
	detail := map[string]any{
		"subject": req.Subject.String(), "since": req.Since, "until": req.UntilText, "via": req.Via,
		"requested_by": req.RequestedBy, "rooms_searched": m.Counts.RoomsSearched, "messages": m.Counts.Messages,
		"encrypted_unreadable": m.Counts.EncryptedUnreadable, "audit_entries": m.Counts.AuditEntries, "outcome": outcome,
	}
	for _, f := range m.Files {
		detail[strings.TrimSuffix(f.Name, ".jsonl")+"_sha256"] = f.SHA256
	}
	raw, err := json.Marshal(detail)
	if err != nil {
		return err
	}
	reason := fmt.Sprintf("subject access export of %s (%s to %s) for %s: %d messages, %d audit entries, %d encrypted messages unreadable; %s",
		req.Subject, req.Since, req.UntilText, orWord(req.RequestedBy, "an unnamed requester"), m.Counts.Messages, m.Counts.AuditEntries, m.Counts.EncryptedUnreadable, outcome)
	if _, err := x.Store.AppendAudit(ctx, store.AuditEntry{Actor: req.Actor, Action: ActionExport, Reason: reason, Detail: string(raw)}); err != nil {
		return fmt.Errorf("audit the export: %w", err)
	}
	zerolog.Ctx(ctx).Info().Str("subject", req.Subject.String()).Str("via", req.Via).Int("messages", m.Counts.Messages).
		Int("audit_entries", m.Counts.AuditEntries).Str("outcome", outcome).Msg("Subject access export")
	return nil
}

func orWord(s, word string) string {
	if s == "" {
		return word
	}
	return s
}
