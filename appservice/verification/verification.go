package verification

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/appservice/commands"
	"github.com/caldicott/caldicott/appservice/executor"
	"github.com/caldicott/caldicott/internal/retry"
	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

// keyCache keeps the result of the cryptographic checks per user, keyed by
// a hash of exactly the keys checked: unchanged keys are not re-verified,
// and any change (a new device, a reset identity) is checked afresh.
type keyCache struct {
	mu      sync.Mutex
	entries map[string]keyCacheEntry
}

type keyCacheEntry struct {
	sum   [32]byte
	facts policy.KeyFacts
}

func keysSum(userID string, resp keysQueryResponse) [32]byte {
	raw, _ := json.Marshal([]any{resp.MasterKeys[userID], resp.SelfSigningKeys[userID], resp.DeviceKeys[userID]})
	return sha256.Sum256(raw)
}

func (c *keyCache) facts(userID string, resp keysQueryResponse) policy.KeyFacts {
	sum := keysSum(userID, resp)
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[userID]; ok && e.sum == sum {
		return e.facts
	}
	f := checkKeys(userID, resp)
	if c.entries == nil {
		c.entries = map[string]keyCacheEntry{}
	}
	c.entries[userID] = keyCacheEntry{sum: sum, facts: f}
	return f
}

// verifications reads members' keys and decides each one's verification.
func (s *Verification) verifications(ctx context.Context, users []string) (map[string]policy.Verification, map[string]policy.KeyFacts, error) {
	resp, err := s.queryKeys(ctx, users)
	if err != nil {
		return nil, nil, err
	}
	out := make(map[string]policy.Verification, len(users))
	facts := make(map[string]policy.KeyFacts, len(users))
	for _, u := range users {
		f := s.keys.facts(u, resp)
		if len(f.Problems) > 0 {
			// Logged for the operator: key IDs and reasons, nothing from messages.
			s.Log.Debug().Str("user_id", u).Strs("problems", f.Problems).Msg("Keys fall short")
		}
		var att *policy.Attestation
		a, err := s.Store.AttestationOf(ctx, u)
		switch {
		case err == nil:
			att = &policy.Attestation{MasterKey: a.MasterKey, By: a.AttestedBy, Method: a.Method}
		case !errors.Is(err, store.ErrNotFound):
			return nil, nil, err
		}
		out[u], facts[u] = policy.Verify(f, att), f
	}
	return out, facts, nil
}

// MemberLines lists each member's verification for status.
func (s *Verification) MemberLines(ctx context.Context, roomID id.RoomID) ([]string, error) {
	members, err := s.Facts.Members(ctx, roomID)
	if err != nil {
		return nil, err
	}
	users := make([]string, 0, len(members))
	for u := range members {
		if u != s.BotID.String() {
			users = append(users, u)
		}
	}
	sort.Strings(users)
	if len(users) == 0 {
		return nil, nil
	}
	vs, _, err := s.verifications(ctx, users)
	if err != nil {
		return nil, err
	}
	lines := make([]string, len(users))
	for i, u := range users {
		lines[i] = fmt.Sprintf("• %s: %s", u, policy.StatusWords(vs[u].Status))
	}
	return lines, nil
}

var CommandVerification = commands.Def[*Verification]{
	CommandSpec: policy.CommandSpec{
		Name: "verification", Usage: "!policy verification @user:server",
		Summary: "Explain one person's identity verification: cross-signing, devices, the trust's confirmation.",
		MinArgs: 1, MaxArgs: 1, Place: policy.Anywhere, Needs: policy.AnyMember,
	},
	Doc: "Explains one person's state: cross-signing, devices, the trust's confirmation, and their identity " +
		"fingerprint.",
	Run: (*Verification).cmdVerification,
}

// cmdVerification explains one member's verification.
func (s *Verification) cmdVerification(ctx context.Context, c *commands.Call) error {
	user, bad := s.ParseUserArg(c.Args[0], "!policy verification")
	if bad != "" {
		return s.Reply(ctx, c.Evt, bad)
	}
	vs, facts, err := s.verifications(ctx, []string{user.String()})
	if err != nil {
		if retry.IsTransient(err) {
			return err
		}
		return s.Reply(ctx, c.Evt, fmt.Sprintf("I could not read the keys of %s: %s", user, executor.MatrixReason(err)))
	}
	v, f := vs[user.String()], facts[user.String()]
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s.\n%s", user, policy.StatusWords(v.Status), v.Explain)
	if f.MasterKey != "" {
		fmt.Fprintf(&b, "\nIdentity (master key): %s", policy.Fingerprint(f.MasterKey))
	}
	if n := len(f.Devices); n > 0 {
		fmt.Fprintf(&b, "\nDevices: %d, of which %d verified.", n, n-len(v.UnsignedDevices))
	}
	return s.Reply(ctx, c.Evt, b.String())
}

// CommandVerify's handler is built with the bot's encryption or without it:
// emoji verification in sasverify.go (goolm), a refusal in e2ee_off.go.
var CommandVerify = commands.Def[*Verification]{
	CommandSpec: policy.CommandSpec{
		Name: "verify", Usage: "!policy verify", MaxArgs: 0, Place: policy.Anywhere, Needs: policy.AnyMember,
		Summary: "Confirm your own identity by comparing emoji with me (Element: \"Verify by emoji\").",
	},
	Doc: "Confirm your own identity by comparing emoji with the bot. It sends a verification request to each of your " +
		"devices; accept it on one, choose \"Verify by emoji\", and press \"They match\" only if your emoji are " +
		"exactly the ones the bot posts in the room where you asked. Needs cross-signing set up first (Element: Set " +
		"up Secure Backup).",
	Run: (*Verification).cmdVerify,
}

var CommandAttest = commands.Def[*Verification]{
	CommandSpec: policy.CommandSpec{
		Name: "attest", Usage: "!policy attest @user:server <fingerprint> [-- note]",
		Summary: "IG admins: record that you checked someone's identity fingerprint in person.",
		MinArgs: 2, MaxArgs: -1, Place: policy.InManagement, Needs: policy.IGAdmin,
	},
	Doc: "Record an in-person check: type the fingerprint you read on their screen (Element: Settings → Security & " +
		"Privacy), in groups as shown, then `--` and a note. It must match the identity they have published, or " +
		"nothing is recorded.",
	Run: (*Verification).cmdAttest,
}

// cmdAttest records an IG admin's in-person check of a member's identity:
// the fingerprint they read from the member's screen must match the master
// key the member has published, so nothing is attested unchecked.
func (s *Verification) cmdAttest(ctx context.Context, c *commands.Call) error {
	user, bad := s.ParseUserArg(c.Args[0], "!policy attest")
	if bad != "" {
		return s.Reply(ctx, c.Evt, bad)
	}
	// The fingerprint may be typed in groups, as Element shows it; the note
	// follows after "--" or is whatever does not look like key material.
	var keyParts, noteParts []string
	inNote := false
	for _, a := range c.Args[1:] {
		if a == "--" {
			inNote = true
			continue
		}
		if !inNote && len(a) <= 8 && isBase64Word(a) {
			keyParts = append(keyParts, a)
			continue
		}
		inNote = true
		noteParts = append(noteParts, a)
	}
	typed := strings.Join(keyParts, "")
	if typed == "" {
		return s.Reply(ctx, c.Evt, fmt.Sprintf("Give the identity fingerprint you checked with them, as Element shows it: `!policy attest %s abcd efgh … [note]`.", user))
	}
	resp, err := s.queryKeys(ctx, []string{user.String()})
	if err != nil {
		if retry.IsTransient(err) {
			return err
		}
		return s.Reply(ctx, c.Evt, fmt.Sprintf("I could not read the keys of %s: %s", user, executor.MatrixReason(err)))
	}
	f := s.keys.facts(user.String(), resp)
	if f.MasterKey == "" || !f.SelfSigningValid {
		return s.Reply(ctx, c.Evt, fmt.Sprintf("%s has no valid cross-signing identity to confirm. They must set up cross-signing in Element first.", user))
	}
	if typed != f.MasterKey {
		if err := s.Audit(ctx, c.Evt.Sender.String(), "", "refused.attest", "fingerprint does not match the published master key of "+user.String(), nil); err != nil {
			return err
		}
		return s.Reply(ctx, c.Evt, fmt.Sprintf("That fingerprint does not match the identity %s has published (%s). Nothing was recorded. Check it again with them in person.", user, policy.Fingerprint(f.MasterKey)))
	}
	note := strings.Join(noteParts, " ")
	if err := s.recordAttestation(ctx, store.Attestation{UserID: user.String(), MasterKey: f.MasterKey, Method: "in person", AttestedBy: c.Evt.Sender.String(), Note: note}); err != nil {
		return err
	}
	if err := s.Audit(ctx, c.Evt.Sender.String(), "", "attest", fmt.Sprintf("identity of %s confirmed in person; master key %s", user, f.MasterKey), map[string]any{"user_id": user.String(), "note": note}); err != nil {
		return err
	}
	if err := s.Reply(ctx, c.Evt, fmt.Sprintf("Recorded: %s's identity (%s) confirmed in person by %s.", user, policy.Fingerprint(f.MasterKey), c.Evt.Sender)); err != nil {
		return err
	}
	// Someone suspended for want of this is invited back now.
	return s.CheckIdentities(ctx, user.String())
}

func isBase64Word(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '+' || r == '/') {
			return false
		}
	}
	return s != ""
}
