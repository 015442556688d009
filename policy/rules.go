package policy

// Rule names: every action carries one, so the audit log says which rule
// asked for it. The gate's rules (Gate…) and the hardening rules (Rule…
// in hardening.go) are named where they are decided; these are the rest.
const (
	// RuleNotice: a room is told what was restored or cannot be.
	RuleNotice = "notice"
	// RuleReport: the management room is told of a room that cannot be repaired.
	RuleReport = "report"
	// RuleIdentity: a joiner's directory identity is shown.
	RuleIdentity = "identity"
	// RuleCommandReply: the bot answers a command.
	RuleCommandReply = "command_reply"
	// RuleClassification: a room's class is recorded in its policy state.
	RuleClassification = "classification"
	// RuleRoomOption: a room admin changed who may be in a clinical room or how.
	RuleRoomOption = "room_option"
	// RuleNewRoom: a room is created already classified.
	RuleNewRoom = "new_room"
	// RuleSuspension: an unverified member is removed or muted.
	RuleSuspension = "suspension"
	// RuleCannotSuspend: a member who must be suspended out-ranks the bot.
	RuleCannotSuspend = "cannot_suspend"
	// RuleReadmission: a re-verified member is let back.
	RuleReadmission = "readmission"
	// RuleVerificationWarning: a member is warned their identity is not verified.
	RuleVerificationWarning = "verification_warning"
	// RuleIdentityChanged: a member's identity changed; the room is warned.
	RuleIdentityChanged = "identity_changed"
	// RuleVerificationPrompt: a member is asked to verify with the bot.
	RuleVerificationPrompt = "verification_prompt"
	// RuleReviewStarted: a membership review is put to the room's admins.
	RuleReviewStarted = "review_started"
	// RuleReviewEscalated: an unconfirmed review goes to the IG team.
	RuleReviewEscalated = "review_escalated"
	// RuleReviewUnconfirmed: members of a room whose review was never
	// confirmed are removed.
	RuleReviewUnconfirmed = "review_unconfirmed"
	// RuleRemovedByAdmin: a room admin removed someone.
	RuleRemovedByAdmin = "removed_by_admin"
	// RuleInviteNeedsApproval: a non-admin's invitation becomes a request.
	RuleInviteNeedsApproval = "invite_needs_approval"
	// RuleRequest: someone asks to join; the room's admins are told.
	RuleRequest = "request"
	// RuleApproval: an approved requester is invited.
	RuleApproval = "approval"
	// RuleRequestAnswered: a requester is told the answer.
	RuleRequestAnswered = "request_answered"
	// RuleSpaceLink: a link between a space and a room of classes that
	// must not meet is removed.
	RuleSpaceLink = "space_link"
	// RuleBotInvitation: the bot accepts an invitation from its own trust,
	// or declines one from elsewhere.
	RuleBotInvitation = "bot_invitation"
	// RuleBotRooms: the bot joins or creates the rooms it needs
	// (management room, attestation rooms).
	RuleBotRooms = "bot_rooms"
	// RuleLostDevice: every session of someone whose device is lost ends.
	RuleLostDevice = "lost_device"
	// RuleSignInCode: an IG admin who asked to sign in to Caldicott's
	// pages is sent a one-time code in their direct chat with the bot.
	RuleSignInCode = "signin_code"
	// RuleAttestation: a confirmed identity is published to, or withdrawn
	// from, the federation.
	RuleAttestation = "attestation"
	// RuleAuditHead: the audit chain's signed head is published outside
	// the database (management and attestation rooms).
	RuleAuditHead = "audit_head"
	// RuleFederationAlert: the IG team is told about another trust's
	// identity or rules that could not be accepted.
	RuleFederationAlert = "federation_alert"
	// RuleVerificationNotice: the room is told how an emoji verification went.
	RuleVerificationNotice = "verification_notice"
	// RuleDowngrade: moving a room out of clinical waits for the IG team.
	RuleDowngrade = "downgrade"
	// RuleRetention: a room admin sets how long the room keeps messages.
	RuleRetention = "retention"
	// RuleRetentionExpiry: a message older than the room's retention
	// period is deleted (redacted), unless the room is on legal hold.
	RuleRetentionExpiry = "retention_expiry"
	// RuleRetentionAlert: the IG team is told when a room's deletion fails
	// or falls behind, and when it recovers.
	RuleRetentionAlert = "retention_alert"
	// RuleMediaDeletion: an expired message's file is deleted from the
	// media store only when nothing that must be kept uses its bytes.
	RuleMediaDeletion = "media_deletion"
	// RuleLegalHold: an IG admin stops or resumes deletion in a room.
	RuleLegalHold = "legal_hold"
	// RulePatientID: an NHS number is kept out of social and operational
	// rooms, and out of every room's name and topic.
	RulePatientID = "patient_identifier"
	// RulePatientRecord: a message sent to the patient record is kept until
	// the record accepts it, and the room hears how it went.
	RulePatientRecord = "patient_record"
	// RuleFederationList: a trust publishes its leavers and suspended staff
	// on the federation's policy list, and the member trusts' servers.
	RuleFederationList = "federation_list"
	// RuleBotQuiet: nothing notifies the bot, so the homeserver keeps no
	// unread notifications for it.
	RuleBotQuiet = "bot_quiet"
	// RuleRoomUpgrade: a guarded room's replacement (its m.room.tombstone)
	// is joined and guarded as the room was, or people are told it is not.
	RuleRoomUpgrade = "room_upgrade"
	// RuleUrgentReminder: a clinical room is reminded to phone when a
	// message reads as urgent (policy.urgent_reminder, off by default).
	RuleUrgentReminder = "urgent_reminder"
)
