package policy

import (
	"strings"
	"testing"
)

func TestInviteGate(t *testing.T) {
	active := &StaffEntry{UserID: "@alice:trust-a.nhs.uk", Status: StatusActive}
	tests := []struct {
		name, invitee string
		allow         bool
		rule, reason  string
		facts         *InviteeFacts
	}{
		{"own trust (directory left to the appservice)", "@alice:trust-a.nhs.uk", true, GateOwnTrust, "", nil},
		{"federated trust", "@bob:trust-b.nhs.uk", true, GateFederatedTrust, "", nil},
		{"federated trust with port", "@bob:127.0.0.12:8448", true, GateFederatedTrust, "", nil},
		{"the bot", "@caldicott:trust-a.nhs.uk", true, GateBot, "", nil},
		{"personal server", "@alice:matrix.org", false, GateOutsideServer, "You cannot invite @alice:matrix.org into this clinical room: accounts on matrix.org are personal accounts", nil},
		{"federated host, other port", "@bob:127.0.0.12:9999", false, GateOutsideServer, "accounts on 127.0.0.12:9999", nil},
		{"bridge puppet on our own server", "@whatsapp_447700900123:trust-a.nhs.uk", false, GateBridgePuppet, "it is a bridged account", nil},
		{"not a user ID", "alice", false, GateOutsideServer, "accounts on that server", nil},
		{"own trust, in the directory", "@alice:trust-a.nhs.uk", true, GateEligible, "", &InviteeFacts{DirectoryChecked: true, Entry: active}},
		{"own trust, not in the directory", "@alice:trust-a.nhs.uk", false, GateNotInDirectory, "they are not in the staff directory of Trust A", &InviteeFacts{DirectoryChecked: true}},
		{"own trust, directory empty", "@alice:trust-a.nhs.uk", true, GateOwnTrust, "", &InviteeFacts{DirectoryChecked: true, DirectoryEmpty: true}},
		{"own trust, suspended", "@alice:trust-a.nhs.uk", false, GateSuspended, "lists their account as suspended", &InviteeFacts{DirectoryChecked: true, Entry: entry(StatusSuspended, "", "")}},
		{"own trust, left", "@alice:trust-a.nhs.uk", false, GateLeft, "records that they have left the trust", &InviteeFacts{DirectoryChecked: true, Entry: entry(StatusLeft, "", "")}},
		{"federated trust, a leaver on the list", "@bob:trust-b.nhs.uk", false, GateListBanned, "their own trust has told the federation that they may no longer be in clinical rooms (left the trust)", &InviteeFacts{ListBan: "left the trust"}},
		{"own trust: the list does not decide", "@alice:trust-a.nhs.uk", true, GateEligible, "", &InviteeFacts{DirectoryChecked: true, Entry: active, ListBan: "published by another trust"}},
		{"puppet even with an entry", "@whatsapp_1:trust-a.nhs.uk", false, GateBridgePuppet, "bridged account", &InviteeFacts{DirectoryChecked: true, Entry: active}},
		{"own trust, held after a lost device", "@alice:trust-a.nhs.uk", false, GateHeld, "held out of the clinical rooms of Trust A (lost phone)", &InviteeFacts{DirectoryChecked: true, Entry: active, HeldReason: "lost phone"}},
		{"federated trust: our holds are ours", "@bob:trust-b.nhs.uk", true, GateFederatedTrust, "", &InviteeFacts{HeldReason: "lost phone"}},
		{"role outside the room's roles", "@alice:trust-a.nhs.uk", false, GateRoleNotAllowed, "it is for doctor, and the staff directory lists them as nurse", &InviteeFacts{DirectoryChecked: true, Entry: entry(StatusActive, "nurse", "ward 7"), AllowedRoles: []string{"doctor"}}},
		{"team outside the room's teams", "@alice:trust-a.nhs.uk", false, GateTeamNotAllowed, "it is for the ward 9 team(s)", &InviteeFacts{DirectoryChecked: true, Entry: entry(StatusActive, "nurse", "ward 7"), AllowedTeams: []string{"ward 9"}}},
		{"role and team fit", "@alice:trust-a.nhs.uk", true, GateEligible, "", &InviteeFacts{DirectoryChecked: true, Entry: entry(StatusActive, "Nurse", "ward 7"), AllowedRoles: []string{"nurse"}, AllowedTeams: []string{"ward 7"}}},
		{"outranks the filters", "@alice:trust-a.nhs.uk", true, GateOutranksFilters, "", &InviteeFacts{DirectoryChecked: true, Entry: entry(StatusActive, "nurse", ""), AllowedRoles: []string{"doctor"}, OutranksFilters: true}},
		{"filters with the directory empty", "@alice:trust-a.nhs.uk", true, GateOwnTrust, "", &InviteeFacts{DirectoryChecked: true, DirectoryEmpty: true, AllowedRoles: []string{"doctor"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := InviteeFacts{}
			if tt.facts != nil {
				f = *tt.facts
			}
			f.UserID = tt.invitee
			d := InviteGate(f, gateRules)
			if d.Allow != tt.allow || d.Rule != tt.rule || !strings.Contains(d.Reason, tt.reason) {
				t.Fatalf("InviteGate(%s) = %+v; want allow=%v rule=%s reason~%q", tt.invitee, d, tt.allow, tt.rule, tt.reason)
			}
		})
	}
}

func TestStateChangeGate(t *testing.T) {
	acl := RequiredACL(gateRules.Requirements)
	aclAny := make([]any, len(acl.Allow))
	for i, s := range acl.Allow {
		aclAny[i] = s
	}
	tests := []struct {
		name, eventType string
		content         map[string]any
		allow           bool
		reason          string
	}{
		{"join rule invite", "m.room.join_rules", map[string]any{"join_rule": "invite"}, true, ""},
		{"join rule public", "m.room.join_rules", map[string]any{"join_rule": "public"}, false, "the join rule must stay invite only (this change would make it public)"},
		{"join rule missing", "m.room.join_rules", map[string]any{}, false, "would make it missing"},
		{"knock refused where knocking is off", "m.room.join_rules", map[string]any{"join_rule": "knock"}, false, "invite only"},
		{"guests forbidden", "m.room.guest_access", map[string]any{"guest_access": "forbidden"}, true, ""},
		{"guests can join", "m.room.guest_access", map[string]any{"guest_access": "can_join"}, false, "guest access must stay forbidden"},
		{"history joined", "m.room.history_visibility", map[string]any{"history_visibility": "joined"}, true, ""},
		{"history invited", "m.room.history_visibility", map[string]any{"history_visibility": "invited"}, true, ""},
		{"history world readable", "m.room.history_visibility", map[string]any{"history_visibility": "world_readable"}, false, "history visibility must stay members only"},
		{"encryption megolm", "m.room.encryption", map[string]any{"algorithm": MegolmAlgorithm}, true, ""},
		{"encryption other", "m.room.encryption", map[string]any{"algorithm": "m.none"}, false, "end-to-end encryption must stay on"},
		{"ACL as required", "m.room.server_acl", map[string]any{"allow": aclAny, "deny": []any{}, "allow_ip_literals": acl.AllowIPLiterals}, true, ""},
		{"ACL opened to all", "m.room.server_acl", map[string]any{"allow": []any{"*"}, "allow_ip_literals": true}, false, "the server access list must stay the federation's trusts only"},
		{"bot kept at 100", "m.room.power_levels", map[string]any{"users": map[string]any{"@caldicott:trust-a.nhs.uk": float64(100), "@alice:trust-a.nhs.uk": float64(50)}}, true, ""},
		{"bot demoted", "m.room.power_levels", map[string]any{"users": map[string]any{"@caldicott:trust-a.nhs.uk": float64(50)}}, false, "must keep power level 100 (this change would leave it at 50)"},
		{"bot left out, default 0", "m.room.power_levels", map[string]any{"users": map[string]any{}}, false, "leave it at 0"},
		{"bot left out, default 100", "m.room.power_levels", map[string]any{"users_default": float64(100)}, true, ""},
		{"bot demoted, as a string", "m.room.power_levels", map[string]any{"users": map[string]any{"@caldicott:trust-a.nhs.uk": "50"}}, false, "leave it at 50"},
		{"a member above the bot", "m.room.power_levels", map[string]any{"users": map[string]any{"@caldicott:trust-a.nhs.uk": float64(100), "@alice:trust-a.nhs.uk": float64(101)}}, false, "nobody may have a power level above 100"},
		{"join rules out of the bot's reach", "m.room.power_levels", map[string]any{"users": map[string]any{"@caldicott:trust-a.nhs.uk": float64(100)}, "events": map[string]any{"m.room.join_rules": float64(101)}}, false, "changing m.room.join_rules must need power level 100 at most"},
		{"invite and state levels lowered", "m.room.power_levels", map[string]any{"users": map[string]any{"@caldicott:trust-a.nhs.uk": float64(100)}, "invite": float64(0), "state_default": float64(0)}, true, ""},
		// Keys read as the homeserver reads them, ignoring case (review).
		{"bot demoted under a capitalised key", "m.room.power_levels", map[string]any{"users_default": float64(100), "Users": map[string]any{"@caldicott:trust-a.nhs.uk": float64(0)}}, false, "leave it at 0"},
		{"join rule public under a capitalised key", "m.room.join_rules", map[string]any{"Join_Rule": "public"}, false, "would make it public"},
		{"name is not hardening", "m.room.name", map[string]any{"name": "Ward 7"}, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := StateChangeGate(tt.eventType, tt.content, gateRules.Requirements)
			if d.Allow != tt.allow || d.Rule != GateHardening || !strings.Contains(d.Reason, tt.reason) {
				t.Fatalf("StateChangeGate = %+v; want allow=%v reason~%q", d, tt.allow, tt.reason)
			}
		})
	}
}

func TestNewRoomGate(t *testing.T) {
	clinical := StateEvent{Type: PolicyEventType, Content: map[string]any{"class": "clinical"}}
	encrypted := StateEvent{Type: "m.room.encryption", Content: map[string]any{"algorithm": MegolmAlgorithm}}
	noGuests := StateEvent{Type: "m.room.guest_access", Content: map[string]any{"guest_access": "forbidden"}}
	bot := gateRules.BotUserID
	tests := []struct {
		name   string
		n      NewRoomRequest
		allow  bool
		rule   string
		reason string
	}{
		{"unclassified room inviting anyone", NewRoomRequest{Preset: "public_chat", Visibility: "public", Invitees: invitees("@x:matrix.org")}, true, GateNotClinical, ""},
		{"social room inviting outsiders", NewRoomRequest{Invitees: invitees("@x:matrix.org"), InitialState: []StateEvent{{Type: PolicyEventType, Content: map[string]any{"class": "social"}}}}, true, GateNotClinical, ""},
		{"clinical, encrypted, private", NewRoomRequest{Preset: "private_chat", Invitees: invitees("@bob:trust-b.nhs.uk"), InitialState: []StateEvent{clinical, encrypted, noGuests}}, true, GateHardening, ""},
		{"clinical, encrypted, no preset", NewRoomRequest{InitialState: []StateEvent{clinical, encrypted}}, true, GateHardening, ""},
		// The guest access Dendrite's private presets set (can_join).
		{"clinical, private_chat leaves guests in", NewRoomRequest{Preset: "private_chat", InitialState: []StateEvent{clinical, encrypted}}, false, GateHardening, "A clinical room must start with guest access forbidden, and the private_chat preset makes it can_join: add an m.room.guest_access event with guest_access \"forbidden\" to initial_state, or choose another preset."},
		{"clinical, trusted_private_chat leaves guests in", NewRoomRequest{Preset: "trusted_private_chat", InitialState: []StateEvent{clinical, encrypted}}, false, GateHardening, "the trusted_private_chat preset makes it can_join"},
		{"clinical, guests let in by initial_state", NewRoomRequest{InitialState: []StateEvent{clinical, encrypted, {Type: "m.room.guest_access", Content: map[string]any{"guest_access": "can_join"}}}}, false, GateHardening, "guest access must stay forbidden"},
		{"clinical, public preset, guests forbidden, join rule left", NewRoomRequest{Preset: "public_chat", InitialState: []StateEvent{clinical, encrypted, noGuests}}, false, GateHardening, "the join rule invite only, and the public_chat preset makes it public"},
		// Power levels: the override, and initial_state's, judged by what
		// the hardening needs of them.
		{"override keeps the bot and the hardening", NewRoomRequest{InitialState: []StateEvent{clinical, encrypted}, PowerLevelOverride: map[string]any{"users": map[string]any{bot: float64(100), "@alice:trust-a.nhs.uk": float64(100)}, "state_default": float64(0), "invite": float64(0)}}, true, GateHardening, ""},
		{"override lowers the bot", NewRoomRequest{InitialState: []StateEvent{clinical, encrypted}, PowerLevelOverride: map[string]any{"users": map[string]any{bot: float64(50)}}}, false, GateHardening, "must keep power level 100 (this change would leave it at 50)"},
		{"override lowers the bot, as a string", NewRoomRequest{InitialState: []StateEvent{clinical, encrypted}, PowerLevelOverride: map[string]any{"Users": map[string]any{bot: "0"}}}, false, GateHardening, "leave it at 0"},
		{"override raises a member above the bot", NewRoomRequest{InitialState: []StateEvent{clinical, encrypted}, PowerLevelOverride: map[string]any{"users": map[string]any{"@alice:trust-a.nhs.uk": float64(150)}}}, false, GateHardening, "nobody may have a power level above 100, @caldicott:trust-a.nhs.uk's (this would give @alice:trust-a.nhs.uk 150)"},
		{"override raises everyone above the bot", NewRoomRequest{InitialState: []StateEvent{clinical, encrypted}, PowerLevelOverride: map[string]any{"users_default": float64(101)}}, false, GateHardening, "this would give everyone 101"},
		{"override puts the ACL out of the bot's reach", NewRoomRequest{InitialState: []StateEvent{clinical, encrypted}, PowerLevelOverride: map[string]any{"events": map[string]any{"m.room.server_acl": float64(200)}}}, false, GateHardening, "changing m.room.server_acl must need power level 100 at most"},
		{"override puts all state out of the bot's reach", NewRoomRequest{InitialState: []StateEvent{clinical, encrypted}, PowerLevelOverride: map[string]any{"state_default": float64(101)}}, false, GateHardening, "this would need 101"},
		{"initial_state power levels lower the bot", NewRoomRequest{InitialState: []StateEvent{clinical, encrypted, {Type: "m.room.power_levels", Content: map[string]any{"users": map[string]any{bot: float64(10)}}}}}, false, GateHardening, "leave it at 10"},
		{"initial_state power levels put the policy out of reach", NewRoomRequest{InitialState: []StateEvent{clinical, encrypted, {Type: "m.room.power_levels", Content: map[string]any{"events": map[string]any{PolicyEventType: float64(1000)}}}}}, false, GateHardening, "changing org.caldicott.policy"},
		{"override of a social room is its own", NewRoomRequest{InitialState: []StateEvent{{Type: PolicyEventType, Content: map[string]any{"class": "social"}}}, PowerLevelOverride: map[string]any{"users": map[string]any{bot: float64(0)}}}, true, GateNotClinical, ""},
		{"clinical, unencrypted", NewRoomRequest{Preset: "private_chat", InitialState: []StateEvent{clinical}}, false, GateHardening, "end-to-end encryption must stay on (this change would make it off)"},
		{"clinical, public preset", NewRoomRequest{Preset: "public_chat", InitialState: []StateEvent{clinical, encrypted}}, false, GateHardening, "the join rule invite only, and the public_chat preset makes it public"},
		{"clinical, public preset made invite-only", NewRoomRequest{Preset: "public_chat", InitialState: []StateEvent{clinical, encrypted, {Type: "m.room.join_rules", Content: map[string]any{"join_rule": "invite"}}}}, true, GateHardening, ""},
		{"clinical, public join rule in state", NewRoomRequest{InitialState: []StateEvent{clinical, encrypted, {Type: "m.room.join_rules", Content: map[string]any{"join_rule": "public"}}}}, false, GateHardening, "public"},
		{"clinical, in the directory", NewRoomRequest{Visibility: "public", InitialState: []StateEvent{clinical, encrypted}}, false, GatePublicRoom, "public room directory"},
		{"clinical, inviting an outsider", NewRoomRequest{Invitees: invitees("@bob:trust-b.nhs.uk", "@x:matrix.org"), InitialState: []StateEvent{clinical, encrypted}}, false, GateOutsideServer, "@x:matrix.org"},
		{"clinical, inviting a colleague who has left", NewRoomRequest{Invitees: []InviteeFacts{{UserID: "@alice:trust-a.nhs.uk", DirectoryChecked: true, Entry: entry(StatusLeft, "", "")}}, InitialState: []StateEvent{clinical, encrypted}}, false, GateLeft, "have left the trust"},
		// The class read as the appservice reads it, and any clinical
		// policy event counting (review: these passed as unclassified).
		{"class in capitals, public", NewRoomRequest{Preset: "public_chat", InitialState: []StateEvent{{Type: PolicyEventType, Content: map[string]any{"class": "Clinical"}}, encrypted}}, false, GateHardening, "invite only"},
		{"class with a space, public", NewRoomRequest{Preset: "public_chat", InitialState: []StateEvent{{Type: PolicyEventType, Content: map[string]any{"class": " clinical"}}, encrypted}}, false, GateHardening, "invite only"},
		{"class under a capitalised key, public", NewRoomRequest{Preset: "public_chat", InitialState: []StateEvent{{Type: PolicyEventType, Content: map[string]any{"Class": "clinical"}}, encrypted}}, false, GateHardening, "invite only"},
		{"social, then clinical, public", NewRoomRequest{Preset: "public_chat", InitialState: []StateEvent{{Type: PolicyEventType, Content: map[string]any{"class": "social"}}, clinical, encrypted}}, false, GateHardening, "invite only"},
		{"clinical, inviting a puppet", NewRoomRequest{Invitees: invitees("@whatsapp_1:trust-a.nhs.uk"), InitialState: []StateEvent{clinical, encrypted}}, false, GateBridgePuppet, "bridged account"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewRoomGate(tt.n, gateRules)
			if d.Allow != tt.allow || d.Rule != tt.rule || !strings.Contains(d.Reason, tt.reason) {
				t.Fatalf("NewRoomGate = %+v; want allow=%v rule=%s reason~%q", d, tt.allow, tt.rule, tt.reason)
			}
		})
	}
}

func invitees(ids ...string) []InviteeFacts {
	out := make([]InviteeFacts, len(ids))
	for i, id := range ids {
		out[i] = InviteeFacts{UserID: id}
	}
	return out
}
