package policy

// IsRoomAdmin is whether a user may approve requests and invitations in a
// room: the power to change its policy, or an IG admin.
func IsRoomAdmin(userID string, pl PowerLevels, isIGAdmin bool) bool {
	return isIGAdmin || pl.UserLevel(userID) >= pl.EventLevel(PolicyEventType, true)
}

// RequestOutcome is what to do with a request to join a clinical room.
type RequestOutcome int

// Outcomes of a request.
const (
	// RequestRefused: the gate would remove them; tell them why now.
	RequestRefused RequestOutcome = iota
	// RequestAutoApproved: the room approves eligible staff by directory.
	RequestAutoApproved
	// RequestToAdmins: the room's admins decide.
	RequestToAdmins
)

// DecideRequest judges a request before it goes to admins: someone the gate
// would remove is told at once; with auto_approve: directory, someone the
// directory shows eligible is invited at once.
func DecideRequest(j JoinFacts, autoApprove string, g GateRules) (RequestOutcome, GateDecision) {
	gd := JoinGate(j, g)
	switch {
	case !gd.Allow:
		return RequestRefused, gd
	case autoApprove == AutoApproveDirectory && gd.Rule == GateEligible:
		return RequestAutoApproved, gd
	default:
		return RequestToAdmins, gd
	}
}
