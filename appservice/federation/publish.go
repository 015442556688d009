package federation

import (
	"context"
	"errors"

	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

// PublishStanding tells the federation about one of our own staff whose
// directory standing changed (from any source: a command, SCIM, LDAP, a
// CSV import): a leaver or suspension is published at once, so the other
// trusts remove them; someone active again is withdrawn.
func (f *Federation) PublishStanding(ctx context.Context, user string) error {
	room := f.Room()
	if room == "" || id.UserID(user).Homeserver() != f.Cfg.Homeserver.Domain {
		return nil
	}
	rec, err := f.Store.Staff(ctx, user)
	known := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	d := policy.PublishStanding(user, policy.StaffStatus(rec.Status), known, f.Cfg.Trust.Name, f.publishedBan(user))
	if len(d.Actions) == 0 {
		return nil
	}
	if _, err = f.Exec.Execute(ctx, room, f.BotID.String(), d); err != nil {
		return err
	}
	// Until our own event comes back, remember what we said, so a second
	// path (the command and the directory journal) does not say it again.
	f.mu.Lock()
	f.sent[user] = len(d.Actions[0].Content) > 0
	f.mu.Unlock()
	return nil
}

// publishedBan reports whether the list shows our own ban of user.
func (f *Federation) publishedBan(user string) bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if banned, ok := f.sent[user]; ok {
		return banned
	}
	for _, r := range f.list.MatchUser(user) {
		if r.Sender == f.BotID.String() && r.Entity == user {
			return true
		}
	}
	return false
}
