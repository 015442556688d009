package gatekeeper

import (
	"context"
	"time"
)

// Watch reads the federation view every few seconds until ctx ends, so a
// change of state (the view grown too old, the store gone) is logged,
// measured and recorded as it happens, not at the next judged request.
func (g *Gatekeeper) Watch(ctx context.Context) {
	if g.s.Records == nil {
		return
	}
	t := time.NewTicker(viewRefresh)
	defer t.Stop()
	for {
		g.fed.refreshing.Lock()
		g.fed.refresh(ctx)
		g.fed.refreshing.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
