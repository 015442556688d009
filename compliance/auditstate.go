package compliance

import (
	"context"
	"strconv"
	"time"
)

// AuditCheck is the audit chain's state: the store's verification of every
// entry's hash and link, and the head last published outside the database.
type AuditCheck struct {
	Intact bool `json:"intact"`
	// Entries is how many entries the last verification walked.
	Entries  int64     `json:"entries_verified"`
	HeadSeq  int64     `json:"head_seq"`
	HeadHash string    `json:"head_hash"`
	Problems []string  `json:"problems"`
	Checked  time.Time `json:"checked_at"`
	// PublishedSeq is the entry whose hash was last published, signed, to
	// the management and attestation rooms (0: never).
	PublishedSeq int64 `json:"published_seq"`
	// PublishEvery is audit.publish_interval (0: publication off).
	PublishEvery time.Duration `json:"publish_interval_ns"`
}

// Unpublished is how many entries were written since the last publication.
func (a AuditCheck) Unpublished() int64 { return max(0, a.HeadSeq-a.PublishedSeq) }

// publishedSeqKey is the kv row where appservice/audithead keeps the entry
// it published last (its publishedKey).
const publishedSeqKey = "audit_head_published_seq"

// Audit verifies the chain (reusing a verification younger than five
// minutes) and reads the last published head.
func (m *Model) Audit(ctx context.Context) (AuditCheck, error) {
	m.verifyMu.Lock()
	defer m.verifyMu.Unlock()
	now := m.Now()
	if m.verified == nil || now.Sub(m.verified.Checked) > verifyTTL || now.Before(m.verified.Checked) {
		rep, err := m.st.VerifyAudit(ctx)
		if err != nil {
			return AuditCheck{}, err
		}
		m.verified = &AuditCheck{Intact: rep.OK(), Entries: rep.Entries, HeadSeq: rep.HeadSeq, HeadHash: rep.HeadHash,
			Problems: append([]string{}, rep.Problems...), Checked: now.UTC()}
	}
	out := *m.verified
	// The head now, which may be past the one verified a few minutes ago.
	seq, hash, err := m.st.AuditHead(ctx)
	if err != nil {
		return out, err
	}
	out.HeadSeq, out.HeadHash = seq, hash
	raw, ok, err := m.st.KV(ctx, publishedSeqKey)
	if err != nil {
		return out, err
	}
	if ok {
		out.PublishedSeq, _ = strconv.ParseInt(raw, 10, 64)
	}
	out.PublishEvery = m.cfg.Audit.Every()
	return out, nil
}
