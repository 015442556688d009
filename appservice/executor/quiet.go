package executor

import (
	"context"
	"fmt"
	"net/http"

	"github.com/caldicott/caldicott/policy"
)

// quietBot puts the bot's override push rule first: it matches every event
// (no conditions) and asks for nothing (no actions), so the homeserver
// records no notification for the bot. Putting it again changes nothing.
func (e *Executor) quietBot(ctx context.Context) error {
	url := e.bot.BuildClientURL("v3", "pushrules", "global", "override", policy.BotQuietRuleID)
	body := map[string]any{"conditions": []any{}, "actions": []any{}}
	if _, err := e.bot.MakeRequest(ctx, http.MethodPut, url, body, nil); err != nil {
		return fmt.Errorf("set the bot's push rule: %w", err)
	}
	return nil
}
