package membership

import (
	"context"

	"github.com/caldicott/caldicott/policy"
)

// JudgeInvited runs the join gate on people invited to a clinical room
// while the bot was not there to see it (a replacement room the bot joined
// after its upgrade): those the gate refuses have their invitation revoked,
// as for any invitation.
func (s *Membership) JudgeInvited(ctx context.Context, f policy.RoomFacts, invited []string) (removed int, err error) {
	if f.Class != policy.Clinical {
		return 0, nil
	}
	for _, user := range invited {
		gone, err := s.judgeMember(ctx, f, user, policy.MembershipInvite, "", policy.OnJoin, nil)
		if err != nil {
			return removed, err
		}
		if gone {
			removed++
		}
	}
	return removed, nil
}
