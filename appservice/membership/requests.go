package membership

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/appservice/commands"
	"github.com/caldicott/caldicott/appservice/kit"
	"github.com/caldicott/caldicott/internal/retry"
	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

// JoinFacts builds the gate's facts for one person and room.
func (s *Membership) JoinFacts(ctx context.Context, f policy.RoomFacts, userID string, m policy.Membership) (policy.JoinFacts, error) {
	entry, empty, err := s.StaffEntry(ctx, userID)
	if err != nil {
		return policy.JoinFacts{}, err
	}
	held, err := s.heldReason(ctx, userID)
	if err != nil {
		return policy.JoinFacts{}, err
	}
	listBan := ""
	if s.List != nil {
		listBan = s.List.BanReason(userID)
	}
	reach := f.FilterReach(f.Policy.FiltersBy, s.IsIGAdmin(id.UserID(f.Policy.FiltersBy)), s.Cfg.Homeserver.Domain)
	return policy.JoinFacts{UserID: userID, Membership: m, Class: f.Class, AllowedRoles: f.Policy.AllowedRoles, AllowedTeams: f.Policy.AllowedTeams, Entry: entry, DirectoryEmpty: empty, HeldReason: held, ListBan: listBan,
		OutranksFilters: f.PowerLevels.UserLevel(userID) >= reach}, nil
}

// heldReason is why a user is held out of clinical rooms, or "".
func (s *Membership) heldReason(ctx context.Context, userID string) (string, error) {
	h, err := s.Store.HoldOf(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return h.Reason, nil
}

// describePerson is how a requester is introduced to room admins.
func describePerson(j policy.JoinFacts, trust string) string {
	if j.Entry != nil {
		return fmt.Sprintf("%s (%s)", j.UserID, j.Entry.Identity(trust))
	}
	return j.UserID
}

var CommandRequest = commands.Def[*Membership]{
	CommandSpec: policy.CommandSpec{
		Name: "request", Usage: "!policy request <#room:server or !roomid:server> [reason]",
		Summary: "Ask to join a clinical room; its admins decide (use in a direct chat with me).",
		MinArgs: 1, MaxArgs: -1, Place: policy.InManagementOrDM, Needs: policy.AnyMember,
	},
	Doc: "Asks to join a clinical room (Dendrite has no knocking). If the rules would refuse you, you are told why " +
		"at once; if the room approves eligible staff automatically, you are invited at once; otherwise the room's " +
		"admins see your directory identity and reason and decide, and you are told the outcome here.",
	Run: (*Membership).cmdRequest,
}

// cmdRequest: someone asks, in a direct chat with the bot, to join a room.
// Dendrite v0.15.2 has no knocking, so this is the way in.
func (s *Membership) cmdRequest(ctx context.Context, c *commands.Call) error {
	ref := c.Args[0]
	reason := strings.Join(c.Args[1:], " ")
	roomID, bad, err := s.RoomArg(ctx, ref, "!policy request #ward7:"+s.Cfg.Homeserver.Domain+" covering nights")
	if err != nil {
		return err
	}
	if bad != "" {
		return s.Reply(ctx, c.Evt, bad)
	}
	f, err := s.Facts.Room(ctx, roomID)
	if err != nil {
		if retry.IsTransient(err) {
			return err
		}
		return s.Reply(ctx, c.Evt, fmt.Sprintf("I am not in %s, so I cannot pass your request on. Ask one of its members to invite you instead.", ref))
	}
	members, err := s.Facts.Members(ctx, roomID)
	if err != nil {
		return err
	}
	requester := c.Evt.Sender.String()
	if _, ok := members[requester]; ok {
		return s.Reply(ctx, c.Evt, fmt.Sprintf("You are already a member of %s.", ref))
	}
	j, err := s.JoinFacts(ctx, f, requester, policy.MembershipInvite)
	if err != nil {
		return err
	}
	outcome, gd := policy.DecideRequest(j, f.Policy.AutoApprove, s.gateRules())
	switch outcome {
	case policy.RequestRefused:
		if err := s.Audit(ctx, requester, roomID, "refused.request", "request refused by the "+gd.Rule+" rule", nil); err != nil {
			return err
		}
		return s.Reply(ctx, c.Evt, "I cannot pass your request on. "+gd.Reason)
	case policy.RequestAutoApproved:
		if err := s.inviteApproved(ctx, roomID, requester, s.BotID.String(), "auto-approved: eligible by the staff directory"); err != nil {
			return err
		}
		return s.Reply(ctx, c.Evt, fmt.Sprintf("You meet the rules of %s, so I have invited you. Accept the invitation to open it.", ref))
	}
	err = s.Store.AddRequest(ctx, store.AccessRequest{RoomID: roomID.String(), UserID: requester, RequestedBy: requester, Reason: reason, ReplyRoom: c.Evt.RoomID.String()})
	if errors.Is(err, store.ErrDuplicate) {
		return s.Reply(ctx, c.Evt, fmt.Sprintf("You have already asked to join %s; its admins have not answered yet.", ref))
	}
	if err != nil {
		return err
	}
	if err := s.Audit(ctx, requester, roomID, "request", "asked to join", nil); err != nil {
		return err
	}
	text := fmt.Sprintf("%s asks to join this room.", describePerson(j, s.Cfg.Trust.Name))
	if reason != "" {
		text += "\nTheir reason: " + reason
	}
	text += fmt.Sprintf("\nRoom admins: `!policy approve %s` or `!policy deny %s [reason]`.", requester, requester)
	if err := s.Notice(ctx, roomID, policy.RuleRequest, text); err != nil {
		return err
	}
	return s.Reply(ctx, c.Evt, fmt.Sprintf("I have asked the admins of %s. I will tell you here when they answer.", ref))
}

// inviteApproved invites someone on an admin's (or the rules') approval.
func (s *Membership) inviteApproved(ctx context.Context, roomID id.RoomID, userID, approver, reason string) error {
	if err := s.Audit(ctx, approver, roomID, "approve", userID+" "+reason, map[string]any{"user_id": userID}); err != nil {
		return err
	}
	res, err := s.Exec.Execute(ctx, roomID, approver, policy.Approve(userID, approver, reason))
	if err != nil {
		return err
	}
	if len(res.Failures) > 0 {
		return fmt.Errorf("%s", strings.Join(res.Failures, " "))
	}
	return nil
}

// decide closes a request; approve invites, and the requester is told either way.
func (s *Membership) decide(ctx context.Context, c *commands.Call, approve bool) error {
	user := c.Args[0]
	req, err := s.Store.PendingRequest(ctx, c.Evt.RoomID.String(), user)
	if errors.Is(err, store.ErrNotFound) {
		return s.Reply(ctx, c.Evt, fmt.Sprintf("There is no request from %s waiting in this room. Check the user ID (write it in full, e.g. @jane.doe:%s).", user, s.Cfg.Homeserver.Domain))
	}
	if err != nil {
		return err
	}
	admin := c.Evt.Sender.String()
	note := strings.Join(c.Args[1:], " ")
	var toRequester, toRoom string
	if approve {
		// Approving is inviting: only for someone the room lets invite.
		members, err := s.Facts.Members(ctx, c.Evt.RoomID)
		if err != nil {
			return err
		}
		act := s.ActOnPerson(policy.ActInvite, c.Evt.Sender, id.UserID(user), c.Facts, members)
		if ok, refusal := policy.MayActFor(act); !ok {
			if err := s.Audit(ctx, admin, c.Evt.RoomID, "refused.approve", fmt.Sprintf("!policy approve %s: caller at power %d, invite needs %d", user, act.CallerLevel, act.Required), map[string]any{"user_id": user, "caller_level": act.CallerLevel}); err != nil {
				return err
			}
			return s.Reply(ctx, c.Evt, refusal)
		}
		if err := s.inviteApproved(ctx, c.Evt.RoomID, user, admin, "approved"); err != nil {
			if retry.IsTransient(err) {
				return err
			}
			return s.Reply(ctx, c.Evt, "I could not invite them: "+err.Error())
		}
		if err := s.Store.DecideRequest(ctx, req.ID, store.RequestApproved, admin, ""); err != nil {
			return retry.Transient(err)
		}
		toRequester = fmt.Sprintf("Your request to join %s was approved by %s. Accept the invitation to open the room.", c.Evt.RoomID, admin)
		toRoom = fmt.Sprintf("I have invited %s, approved by %s.", user, admin)
	} else {
		if err := s.Store.DecideRequest(ctx, req.ID, store.RequestDenied, admin, note); err != nil {
			return retry.Transient(err)
		}
		if err := s.Audit(ctx, admin, c.Evt.RoomID, "deny", user+" denied; "+kit.OrWord(note, "no reason given"), map[string]any{"user_id": user}); err != nil {
			return err
		}
		toRequester = fmt.Sprintf("Your request to join %s was declined by %s.", c.Evt.RoomID, admin)
		if note != "" {
			toRequester += " Their reason: " + note
		}
		toRoom = fmt.Sprintf("%s's request is declined; I have told them.", user)
	}
	if req.ReplyRoom != "" {
		if _, err := s.Exec.Execute(ctx, c.Evt.RoomID, admin, policy.TellUser(policy.RuleRequestAnswered, user, req.ReplyRoom, toRequester, "requester told the answer")); err != nil {
			return err
		}
	} else if req.RequestedBy != user {
		toRoom += fmt.Sprintf(" (%s, who invited them, may want to let them know.)", req.RequestedBy)
	}
	return s.Reply(ctx, c.Evt, toRoom)
}

var CommandApprove = commands.Def[*Membership]{
	CommandSpec: policy.CommandSpec{
		Name: "approve", Usage: "!policy approve @user:server",
		Summary: "Room admins: let in someone who asked to join or was invited by a member.",
		MinArgs: 1, MaxArgs: 1, Place: policy.InRoom, Needs: policy.RoomPolicyPower,
	},
	Doc: "Invites someone who asked to join or whom a non-admin member invited. You need the room's invite level, as " +
		"you would to invite them yourself.",
	Run: (*Membership).cmdApprove,
}

func (s *Membership) cmdApprove(ctx context.Context, c *commands.Call) error {
	return s.decide(ctx, c, true)
}

var CommandDeny = commands.Def[*Membership]{
	CommandSpec: policy.CommandSpec{
		Name: "deny", Usage: "!policy deny @user:server [reason]",
		Summary: "Room admins: turn down a request; the person is told, with your reason.",
		MinArgs: 1, MaxArgs: -1, Place: policy.InRoom, Needs: policy.RoomPolicyPower,
	},
	Doc: "Turns a request down; the person is told, with your reason.",
	Run: (*Membership).cmdDeny,
}

func (s *Membership) cmdDeny(ctx context.Context, c *commands.Call) error {
	return s.decide(ctx, c, false)
}

// invitationToRequest turns an invite sent by a member who is not a room
// admin into a request: the invite is revoked and the admins are asked.
func (s *Membership) invitationToRequest(ctx context.Context, f policy.RoomFacts, inviter, invitee, reason string) error {
	err := s.Store.AddRequest(ctx, store.AccessRequest{RoomID: f.RoomID, UserID: invitee, RequestedBy: inviter, Reason: reason})
	if err != nil && !errors.Is(err, store.ErrDuplicate) {
		return err
	}
	j, err := s.JoinFacts(ctx, f, invitee, policy.MembershipInvite)
	if err != nil {
		return err
	}
	_, err = s.Exec.Execute(ctx, id.RoomID(f.RoomID), inviter, policy.InvitationToRequest(inviter, invitee, describePerson(j, s.Cfg.Trust.Name)))
	return err
}
