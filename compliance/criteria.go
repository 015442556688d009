package compliance

import (
	"fmt"

	"github.com/caldicott/caldicott/policy"
)

// How a criterion is met.
const (
	// ByServer: Caldicott enforces it and measures it here.
	ByServer = "server-enforced"
	// ByClient: a setting on each person's phone or computer; Caldicott
	// cannot see it (docs/clinician-guide.md says how to set it).
	ByClient = "client setting"
	// ByOrganisation: the trust's own process; Caldicott supports it.
	ByOrganisation = "organisational"
)

// A criterion's state as measured now.
const (
	Met         = "met"
	Attention   = "needs attention"
	NotMeasured = "not measured by Caldicott"
)

// Criterion is one of NHS England's criteria for instant messaging in
// clinical settings, with how Caldicott meets it and its state.
type Criterion struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	How      string `json:"how"`
	State    string `json:"state"`
	Evidence string `json:"evidence"`
}

// Criteria states each criterion from the overview: the server-enforced
// ones from what the rules recorded, the others as what they are.
func (m *Model) Criteria(o Overview) []Criterion {
	clinicalBad := 0
	for _, r := range o.NonCompliant {
		if r.Clinical() {
			clinicalBad++
		}
	}
	v := o.Verification
	return []Criterion{
		{ID: "encryption", Name: "Messages are encrypted end to end", How: ByServer,
			State:    stateIf(clinicalBad == 0),
			Evidence: fmt.Sprintf("%d clinical rooms; %d not compliant (encryption and the other protections are restored automatically; see the overview).", o.Classes[string(policy.Clinical)], clinicalBad)},
		{ID: "verification", Name: "Users verify each other's identity", How: ByServer,
			State: stateIf(m.cfg.Verification.Mode == "suspend" && v.Unverified+v.Suspended == 0),
			Evidence: fmt.Sprintf("Verification mode %q. Of %d members of clinical rooms: %d verified, %d not yet confirmed, %d unverified within their grace, %d suspended.",
				m.cfg.Verification.Mode, v.Members, v.Verified, v.NotConfirmed, v.Unverified, v.Suspended)},
		{ID: "passcode", Name: "The app is locked with a passcode or biometrics", How: ByClient, State: NotMeasured,
			Evidence: "Set in Element on each device (docs/clinician-guide.md); enforce through the trust's device management."},
		{ID: "remote-wipe", Name: "A lost device can be wiped or signed out", How: ByOrganisation, State: NotMeasured,
			Evidence: "Caldicott signs every session of a lost device out (!policy lost-device, audited); wiping the device is the trust's device management."},
		{ID: "retention", Name: "Messages are kept no longer than needed", How: ByServer, State: stateIf(o.Retention.Healthy()),
			Evidence: retentionEvidence(o.Retention)},
		{ID: "records", Name: "Clinical decisions reach the patient record", How: ByServer,
			State:    recordsState(o.Records),
			Evidence: fmt.Sprintf("%d messages waiting for the patient record, %d failed.", o.Records.Waiting, o.Records.Failed)},
		{ID: "membership-review", Name: "Room membership is reviewed regularly", How: ByServer, State: stateIf(len(o.Reviews) == 0),
			Evidence: fmt.Sprintf("Reviews every %s; %d due or open now.", DurationWords(m.cfg.Review.Interval.Duration), len(o.Reviews))},
		{ID: "separation", Name: "Social and clinical conversations are kept apart", How: ByServer, State: stateIf(o.Federation.Healthy()),
			Evidence: fmt.Sprintf("%d clinical, %d operational, %d social rooms; spaces never link classes that must not meet. Gatekeeper: %s.",
				o.Classes[string(policy.Clinical)], o.Classes[string(policy.Operational)], o.Classes[string(policy.Social)], o.Federation.GatekeeperWords())},
		{ID: "minimal-patient-data", Name: "Patient identifiers stay out of social and operational rooms", How: ByServer, State: Met,
			Evidence: fmt.Sprintf("NHS numbers are removed from social and operational rooms and every room's name and topic; the gatekeeper refused %d requests in the period.", o.Refusals.Count)},
		{ID: "foi-sar", Name: "Ready for freedom of information and subject access requests", How: ByServer, State: stateIf(o.Audit.Intact),
			Evidence: auditEvidence(o.Audit)},
	}
}

func stateIf(ok bool) string {
	if ok {
		return Met
	}
	return Attention
}

func recordsState(r Records) string {
	switch {
	case !r.Configured:
		return NotMeasured
	case r.Failed > 0:
		return Attention
	}
	return Met
}

func retentionEvidence(r Retention) string {
	if !r.Deleting {
		return "Automatic deletion is OFF (retention.delete): nothing is deleted."
	}
	return fmt.Sprintf("%d rooms swept every %s; %d failing, %d late, %d messages waiting to be deleted; %d rooms on legal hold.",
		r.Rooms, DurationWords(r.SweepInterval), len(r.Failing), len(r.Late), r.Backlog, len(r.Holds))
}

func auditEvidence(a AuditCheck) string {
	if !a.Intact {
		return fmt.Sprintf("The audit log's chain is BROKEN (%d problems): see the audit section.", len(a.Problems))
	}
	return fmt.Sprintf("Audit log intact (%d entries checked); head entry %d, published up to entry %d. Subject access exports come from the admin API or caldicott export.",
		a.Entries, a.HeadSeq, a.PublishedSeq)
}
