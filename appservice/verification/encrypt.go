//go:build goolm

package verification

import (
	"context"
	"fmt"
	"slices"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// Encrypt seals a message for roomID (the executor's Encrypter). The
// executor has found the room encrypted as enc says, from the room's own
// state; the device's state store, which mautrix's crypto reads, learns of
// it here rather than from its paced /sync, and so do the room's current
// members, whom the room key is shared with.
func (d *e2ee) Encrypt(ctx context.Context, roomID id.RoomID, enc *event.EncryptionEventContent, content *event.MessageEventContent) (*event.EncryptedEventContent, error) {
	if err := d.cli.StateStore.SetEncryptionEvent(ctx, roomID, enc); err != nil {
		return nil, fmt.Errorf("record that %s is encrypted: %w", roomID, err)
	}
	if err := d.refreshMembers(ctx, roomID); err != nil {
		return nil, err
	}
	sealed, err := d.helper.Encrypt(ctx, roomID, event.EventMessage, content)
	if err != nil {
		return nil, fmt.Errorf("encrypt for %s: %w", roomID, err)
	}
	return sealed, nil
}

// Client is the device's client, which sends what it encrypted.
func (d *e2ee) Client() *mautrix.Client { return d.cli }

// refreshMembers reads roomID's members from the homeserver into the
// device's state store (the /sync that keeps them lags, as it does for
// encryption). When they differ from what the store had, the room's
// outgoing session is dropped, so the next is shared with exactly the
// members now: someone just removed gets no key to what is said of them
// next, someone just added can read it.
func (d *e2ee) refreshMembers(ctx context.Context, roomID id.RoomID) error {
	before, err := d.cli.StateStore.GetRoomJoinedOrInvitedMembers(ctx, roomID)
	if err != nil {
		return fmt.Errorf("members of %s as the encryption device knows them: %w", roomID, err)
	}
	// Members writes what it read into the client's state store.
	if _, err := d.cli.Members(ctx, roomID); err != nil {
		return fmt.Errorf("read members of %s: %w", roomID, err)
	}
	after, err := d.cli.StateStore.GetRoomJoinedOrInvitedMembers(ctx, roomID)
	if err != nil {
		return fmt.Errorf("members of %s as the encryption device knows them: %w", roomID, err)
	}
	slices.Sort(before)
	slices.Sort(after)
	if slices.Equal(before, after) {
		return nil
	}
	if err := d.helper.Machine().CryptoStore.RemoveOutboundGroupSession(ctx, roomID); err != nil {
		return fmt.Errorf("drop the outgoing session of %s after its members changed: %w", roomID, err)
	}
	return nil
}
