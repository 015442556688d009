package federation

import (
	"context"
	"errors"
	"fmt"

	"github.com/caldicott/caldicott/appservice/executor"
	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

// gatekeeperToldKey keeps the gatekeeper state the management room was
// last told of, so each change is told once.
const gatekeeperToldKey = "gatekeeper_state_told"

// NoticeGatekeeper tells the management room when the gatekeeper (another
// process, which never writes to the homeserver) has recorded that the
// federation view it serves grew too old, and when it is current again.
// A view not written yet is the list's own trouble, which EnsureList
// reports already.
func (f *Federation) NoticeGatekeeper(ctx context.Context) {
	st, err := f.Store.GatekeeperState(ctx)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			f.Log.Warn().Err(err).Msg("Could not read the gatekeeper's state")
		}
		return
	}
	told, _, err := f.Store.KV(ctx, gatekeeperToldKey)
	if err != nil {
		f.Log.Warn().Err(err).Msg("Could not read the gatekeeper state last told")
		return
	}
	stale := st.State == store.GatekeeperListStale
	if stale == (told == store.GatekeeperListStale) || (!stale && told == "") {
		return
	}
	// Named by the change, so a notice sent before a crash is not sent twice.
	ictx := executor.WithInput(ctx, fmt.Sprintf("gatekeeper-state:%s:%d", st.State, st.Since.UnixMilli()))
	if err := f.NotifyManagement(ictx, policy.RuleFederationAlert, f.gatekeeperNotice(st, stale)); err != nil {
		f.Log.Warn().Err(err).Msg("Could not tell the management room of the gatekeeper's state")
		return
	}
	if err := f.Store.SetKV(ctx, gatekeeperToldKey, st.State); err != nil {
		f.Log.Warn().Err(err).Msg("Could not note the gatekeeper state told")
	}
}

// gatekeeperNotice is what the IG team is told of the gatekeeper's state.
func (f *Federation) gatekeeperNotice(st store.GatekeeperState, stale bool) string {
	if !stale {
		return "✅ The gatekeeper has a current copy of the federation's policy list again: trusts added to the federation at run time can invite, join and be invited again, and leavers other trusts publish are refused before they reach our rooms."
	}
	last := "never"
	if !st.ListUpdatedAt.IsZero() {
		last = st.ListUpdatedAt.UTC().Format("2 Jan 2006 15:04 MST")
	}
	text := fmt.Sprintf("⚠ The gatekeeper's copy of the federation's policy list is older than its limit (%s; last read %s). Until I read the list again, it refuses federation invitations, joins and knocks from trusts that are members only by the list (not in `federation.servers`), and their staff cannot be invited into clinical rooms. Local traffic and the trusts in `federation.servers` are not affected.", st.MaxListAge, last)
	f.mu.RLock()
	loadErr := f.loadErr
	f.mu.RUnlock()
	if loadErr != "" {
		text += " I cannot read the list now: " + loadErr + "."
	}
	return text
}
