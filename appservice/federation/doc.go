// Package federation keeps one policy across the trusts' Caldicotts: the
// federation's policy list room (standard MSC2313 rules, read by package
// policylist), which every trust's bot joins. A trust publishes there its
// own leavers and suspended staff, and every other trust removes them from
// its clinical rooms as the rule arrives; the federation's admins keep
// there the list of member trusts, from which every clinical room's server
// ACL is made. Rules from anyone who may not make them are refused and
// reported, never applied.
package federation

import (
	"context"
	"strings"
	"sync"
	"time"

	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/appservice/kit"
	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/policylist"
)

// Federation is the capability.
type Federation struct {
	*kit.Kit
	// Changed is told of someone of another trust whose standing on the
	// list changed, to judge them in every clinical room now.
	Changed func(user string)
	// TrustsChanged is told when the member trusts change, to bring every
	// clinical room's server ACL in line.
	TrustsChanged func(ctx context.Context)

	mu    sync.RWMutex
	list  *policylist.List
	room  id.RoomID
	heard map[string]time.Time
	// loadErr is why the list could not be read last time ("" when it was):
	// the last good state stays in force meanwhile.
	loadErr  string
	failures int
	loadedAt time.Time
	invites  map[string]inviteAttempts
	// sent: our own rules published and not yet back as events (user →
	// banned), so one change is published once.
	sent map[string]bool
	// requests: the admins' `!policy trust` commands read as proofs, by
	// event ID (an event never changes). proofs: the latest request applied
	// about each server, so an older one cited again (a replay) is refused.
	requests map[string]policy.TrustRequest
	proofs   map[string]policy.TrustRequest
	// ours: the content of the rules our bot published, by event ID, to
	// write one back as it was if someone overwrites it.
	ours map[string]map[string]any
	// proofFailing: when our homeserver first failed to serve a cited
	// request, by event ID (proofPatience).
	proofFailing map[string]time.Time
}

// New builds the capability from config: who the trusts' bots are, and
// the federation's admins; changed is told of people whose standing on
// the list changed. Set TrustsChanged before use.
func New(k *kit.Kit, changed func(user string)) (*Federation, error) {
	f := &Federation{Kit: k, Changed: changed, heard: map[string]time.Time{}, invites: map[string]inviteAttempts{}, sent: map[string]bool{},
		requests: map[string]policy.TrustRequest{}, proofs: map[string]policy.TrustRequest{}, ours: map[string]map[string]any{}, proofFailing: map[string]time.Time{}}
	list, err := policylist.New(f.authority(), policylist.Limits{})
	if err != nil {
		return nil, err
	}
	f.list = list
	return f, nil
}

// Enabled says whether this trust takes part in a federation policy list.
func (f *Federation) Enabled() bool { return f.Cfg.Federation.PolicyList != "" }

// authority names the trusts' bots (each speaks for its own server) and
// the federation's admins.
func (f *Federation) authority() policylist.Authority {
	bots := map[string]string{f.BotID.String(): f.Cfg.Homeserver.Domain}
	for _, server := range f.Cfg.Federation.Servers {
		bots[f.Cfg.Federation.BotOf(server, f.BotID.Localpart())] = server
	}
	return policylist.Authority{Bots: bots, Admins: f.Cfg.Federation.Admins}
}

// Room is the list room, once joined ("" before).
func (f *Federation) Room() id.RoomID {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.room
}

// IsListRoom reports whether roomID is the federation's list room.
func (f *Federation) IsListRoom(roomID id.RoomID) bool {
	r := f.Room()
	return r != "" && r == roomID
}

// hostsList: the trust whose server the list's alias names creates it.
func (f *Federation) hostsList() bool {
	_, server, _ := strings.Cut(f.Cfg.Federation.PolicyList, ":")
	return server == f.Cfg.Homeserver.Domain
}

// BanReason is why the federation's list bars a user of another trust
// from clinical rooms, or "" (the gate asks it).
func (f *Federation) BanReason(user string) string {
	if id.UserID(user).Homeserver() == f.Cfg.Homeserver.Domain {
		return "" // our own staff: our directory decides
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	if r, ok := f.list.Banned(user); ok {
		return r.Reason
	}
	return ""
}
