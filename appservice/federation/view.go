package federation

import (
	"context"

	"github.com/caldicott/caldicott/policylist"
	"github.com/caldicott/caldicott/store"
)

// View is the federation as this appservice reads it now: the other
// member trusts (Trusts) and the list's bans of other trusts' staff (as
// BanReason reads them). The gatekeeper judges by it, from the store.
func (f *Federation) View() store.FederationView {
	f.mu.RLock()
	defer f.mu.RUnlock()
	v := store.FederationView{Servers: f.trustsLocked()}
	for _, r := range f.list.Rules() {
		if r.Kind == policylist.KindUser && r.Recommendation == policylist.Ban && serverOf(r.Entity) != f.Cfg.Homeserver.Domain {
			v.Banned = append(v.Banned, store.ListBan{Entity: r.Entity, Reason: r.Reason})
		}
	}
	return v
}

// publishView writes the view into the store, stamped now: after each
// read of the whole list and each change a rule makes. A view that cannot
// be written is written at the next; the gatekeeper serves the last one
// meanwhile, until it is too old.
func (f *Federation) publishView(ctx context.Context) {
	if err := f.Store.SetFederationView(ctx, f.View()); err != nil {
		f.Log.Warn().Err(err).Msg("Could not write the federation view for the gatekeeper")
	}
}
