package hardening

import (
	"context"
	"fmt"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/internal/retry"
	"github.com/caldicott/caldicott/policy"
)

// clinicalVersionRefusal says why the room cannot be made class, or "":
// a clinical room must be in a version whose creators do not outrank the
// bot (policy.ClinicalVersionGate).
func (s *Hardening) clinicalVersionRefusal(ctx context.Context, room id.RoomID, class policy.Class) (string, error) {
	if class != policy.Clinical {
		return "", nil
	}
	create, err := s.Bot.FullStateEvent(ctx, room, event.StateCreate, "")
	if err != nil {
		return "", retry.Transient(fmt.Errorf("read creation of %s: %w", room, err))
	}
	version, _ := create.Content.Raw["room_version"].(string)
	if d := policy.ClinicalVersionGate(class, version, policy.NamesAdditionalCreators(create.Content.Raw)); !d.Allow {
		return d.Reason, nil
	}
	return "", nil
}
