package facts

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"maunium.net/go/mautrix"

	"github.com/caldicott/caldicott/policy"
)

// BotQuiet reports whether the bot's quiet push rule (policy.BotQuietRuleID)
// is in place, enabled, matching everything and asking for nothing.
func (s *Reader) BotQuiet(ctx context.Context) (bool, error) {
	url := s.bot.BuildClientURL("v3", "pushrules", "global", "override", policy.BotQuietRuleID)
	var rule struct {
		Enabled    bool  `json:"enabled"`
		Actions    []any `json:"actions"`
		Conditions []any `json:"conditions"`
	}
	_, err := s.bot.MakeRequest(ctx, http.MethodGet, url, nil, &rule)
	if errors.Is(err, mautrix.MNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read the bot's push rule: %w", err)
	}
	return rule.Enabled && len(rule.Actions) == 0 && len(rule.Conditions) == 0, nil
}
