package executor

import (
	"context"
	"errors"
	"fmt"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// Encrypter is the bot's encryption device (package verification), as the
// executor sends with it.
type Encrypter interface {
	// Encrypt seals a message for roomID, encrypted as enc says. The
	// device is told first: its own record of which rooms are encrypted
	// comes from its paced /sync, which lags the transactions that make
	// Caldicott act.
	Encrypt(ctx context.Context, roomID id.RoomID, enc *event.EncryptionEventContent, content *event.MessageEventContent) (*event.EncryptedEventContent, error)
	// Client is the device's client: encrypted messages are sent with it,
	// so a retried send (same transaction ID) reaches the same device's
	// deduplication.
	Client() *mautrix.Client
}

// SetEncrypter makes messages to encrypted rooms go encrypted by the
// bot's encryption device. Without one, an encrypted room gets no
// plaintext message with content (see withheldContent).
func (e *Executor) SetEncrypter(enc Encrypter) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.encrypter = enc
}

func (e *Executor) currentEncrypter() Encrypter {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.encrypter
}

// errWithheld: a message with content was due in an encrypted room and
// the bot has no encryption device; a content-free notice went instead.
var errWithheld = errors.New("the room is encrypted and the bot has no encryption device: a content-free notice was posted instead")

// send posts a message with the action's transaction ID, which the
// homeserver uses to drop a repeat of the same request. Whether it goes
// encrypted is decided here, from the room's own state (encryptionOf),
// never from the encryption device's lagging record alone; unsure, it is
// not sent.
func (e *Executor) send(ctx context.Context, roomID id.RoomID, s actionStep, content *event.MessageEventContent) error {
	if s.resumed {
		if sent, err := e.alreadySent(ctx, roomID, s.txn, s.lookUntil); err != nil || sent {
			return err
		}
	}
	enc, err := e.encryptionOf(ctx, roomID)
	if err != nil {
		return err
	}
	txn := s.txn
	req := mautrix.ReqSendEvent{TransactionID: txn}
	crypt := e.currentEncrypter()
	switch {
	case enc == nil || (crypt == nil && e.cfg.PlaintextInEncryptedRooms):
		if _, err := e.bot.SendMessageEvent(ctx, roomID, event.EventMessage, marked(content, txn), req); err != nil {
			return fmt.Errorf("send notice to %s: %w", roomID, err)
		}
		return nil
	case crypt == nil:
		if _, err := e.bot.SendMessageEvent(ctx, roomID, event.EventMessage, marked(withheldContent(content), txn), req); err != nil {
			return fmt.Errorf("send content-free notice to %s: %w", roomID, err)
		}
		return errWithheld
	}
	sealed, err := crypt.Encrypt(ctx, roomID, enc, content)
	if err != nil {
		return fmt.Errorf("encrypt notice for %s: %w", roomID, err)
	}
	// Already sealed: the client sends it as it is (no second encryption).
	if _, err := crypt.Client().SendMessageEvent(ctx, roomID, event.EventEncrypted, marked(sealed, txn), req); err != nil {
		return fmt.Errorf("send encrypted notice to %s: %w", roomID, err)
	}
	return nil
}

// NoteEncryption records that roomID is encrypted, from an
// m.room.encryption event the homeserver sent Caldicott: the room's next
// message needs no read. Only "encrypted" is ever recorded (see
// encryptionOf).
func (e *Executor) NoteEncryption(roomID id.RoomID, content *event.EncryptionEventContent) {
	e.encryptedRooms.Store(roomID, megolm(content))
}

// megolm is a room's encryption as the device seals with it. An emptied or
// swapped algorithm (a change the hardening reverts) still leaves the room
// encrypted to every client, and Megolm is what rooms use.
func megolm(content *event.EncryptionEventContent) *event.EncryptionEventContent {
	enc := &event.EncryptionEventContent{Algorithm: id.AlgorithmMegolmV1}
	if content != nil {
		enc.RotationPeriodMillis, enc.RotationPeriodMessages = content.RotationPeriodMillis, content.RotationPeriodMessages
	}
	return enc
}

// encryptionOf is roomID's m.room.encryption, or nil when the room is not
// encrypted. A room once found encrypted stays so (clients ignore an
// attempt to turn encryption off), so that is remembered; "not encrypted"
// never is: it is read from the homeserver before each message, whose
// state already holds any encryption event Caldicott has been sent,
// whichever transaction brought it. An unreadable state is an error, so
// nothing goes out in plaintext on a guess.
func (e *Executor) encryptionOf(ctx context.Context, roomID id.RoomID) (*event.EncryptionEventContent, error) {
	if known, ok := e.encryptedRooms.Load(roomID); ok {
		return known.(*event.EncryptionEventContent), nil
	}
	var enc event.EncryptionEventContent
	err := e.bot.StateEvent(ctx, roomID, event.StateEncryption, "", &enc)
	switch {
	case errors.Is(err, mautrix.MNotFound):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("read whether %s is encrypted, before sending to it: %w", roomID, err)
	}
	sealed := megolm(&enc)
	e.encryptedRooms.Store(roomID, sealed)
	return sealed, nil
}

// withheldContent is what an encrypted room is told in place of a message
// the bot cannot encrypt: that there was one, and nothing of it — no
// names, no mentions, no reasons. A reply still points at the command it
// answers, so whoever asked sees they were heard.
func withheldContent(orig *event.MessageEventContent) *event.MessageEventContent {
	c := noticeContent("I have a message for this room but cannot encrypt it (my encryption device is off), so I have not posted it here. " +
		"Your IG team can see in Caldicott's audit log that it was withheld.")
	if orig.RelatesTo != nil && orig.RelatesTo.InReplyTo != nil {
		c.RelatesTo = (&event.RelatesTo{}).SetReplyTo(orig.RelatesTo.InReplyTo.EventID)
	}
	return c
}
