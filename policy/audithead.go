package policy

import "fmt"

// AuditHeadEventType is the state event (state key "") in which a trust's
// Caldicott publishes the head of its audit chain, signed, outside its
// database: in the management room and in its attestation room, which the
// other trusts' homeservers hold a copy of.
const AuditHeadEventType = "org.caldicott.audit.head"

// AuditHeadFacts is what the rule needs to know of the audit chain.
type AuditHeadFacts struct {
	// Seq is the chain's last entry now (0: the log is empty).
	Seq int64
	// PublishedSeq is the entry published last (0: none yet).
	PublishedSeq int64
	// RulesSincePublished are the rules of the entries after PublishedSeq
	// ("" for an entry that records no action), oldest first.
	RulesSincePublished []string
}

// AuditHeadDue says whether the chain's head must be published again:
// something was recorded since the last publication other than that
// publication itself (each publication writes its own audit entries, which
// would otherwise call for a publication of their own, for ever).
func AuditHeadDue(f AuditHeadFacts) bool {
	if f.Seq == 0 || f.Seq <= f.PublishedSeq {
		return false
	}
	if f.PublishedSeq == 0 {
		return true
	}
	for _, r := range f.RulesSincePublished {
		if r != RuleAuditHead {
			return true
		}
	}
	return false
}

// PublishAuditHead sets the signed head (content) in one of the bot's rooms.
func PublishAuditHead(seq int64, content map[string]any) Decision {
	return PublishState(RuleAuditHead, AuditHeadEventType, "", content,
		fmt.Sprintf("publish the audit log's head (entry %d)", seq),
		fmt.Sprintf("audit log anchored outside the database at entry %d", seq))
}
