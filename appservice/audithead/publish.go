package audithead

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/appservice/executor"
	"github.com/caldicott/caldicott/appservice/kit"
	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

// Signer holds the trust's signing key (package verification).
type Signer interface {
	// SignAsTrust signs obj's canonical JSON with the bot's cross-signing
	// master key, returning the key ID and the signature.
	SignAsTrust(obj any) (keyID, signature string, err error)
	// AttestationRoom is the trust's attestation room, or "".
	AttestationRoom() id.RoomID
}

// Publisher publishes the audit chain's head when it has changed.
type Publisher struct {
	*kit.Kit
	Signer Signer
	// ErrNoKey is the Signer's error for "no key to sign with": publication
	// is then skipped (logged once), not retried as a failure.
	ErrNoKey error

	warnedNoKey atomic.Bool
}

// New builds the publisher.
func New(k *kit.Kit, signer Signer, errNoKey error) *Publisher {
	return &Publisher{Kit: k, Signer: signer, ErrNoKey: errNoKey}
}

// publishedKey keeps (in the kv table) the entry published last.
const publishedKey = "audit_head_published_seq"

// rulesPage is how many entries are read at a time after the last
// publication, looking for one that is not a publication's own.
const rulesPage = 50

// Publish is the periodic job (and runs once at start-up): it publishes
// the head if something was recorded since the last publication. Failures
// are logged; the next run tries again. Off when audit.publish_interval is 0.
func (p *Publisher) Publish(ctx context.Context) {
	if p.Cfg.Audit.Every() == 0 {
		return // audit.publish_interval: 0s
	}
	if err := p.PublishIfChanged(ctx); err != nil {
		p.Log.Warn().Err(err).Msg("Could not publish the audit log's head")
	}
}

// PublishIfChanged publishes the head of the chain, signed, to the
// management room and the attestation room when it has changed.
func (p *Publisher) PublishIfChanged(ctx context.Context) error {
	seq, hash, err := p.Store.AuditHead(ctx)
	if err != nil {
		return err
	}
	facts := policy.AuditHeadFacts{Seq: seq}
	if raw, ok, err := p.Store.KV(ctx, publishedKey); err != nil {
		return err
	} else if ok {
		facts.PublishedSeq, _ = strconv.ParseInt(raw, 10, 64)
	}
	if facts.RulesSincePublished, err = p.rulesAfter(ctx, facts.PublishedSeq, seq); err != nil {
		return err
	}
	if !policy.AuditHeadDue(facts) {
		return nil
	}
	head := Head{Seq: seq, Hash: hash, Trust: p.Cfg.Trust.Name, PublishedAt: p.Now().UnixMilli()}
	keyID, sig, err := p.Signer.SignAsTrust(head)
	if err != nil {
		if p.ErrNoKey != nil && errors.Is(err, p.ErrNoKey) {
			if !p.warnedNoKey.Swap(true) {
				p.Log.Error().Err(err).Msg("The audit log's head cannot be published: nothing to sign it with")
			}
			return nil
		}
		return err
	}
	head.Signatures = map[string]map[string]string{p.BotID.String(): {keyID: sig}}
	content, err := head.content()
	if err != nil {
		return fmt.Errorf("encode the audit head: %w", err)
	}
	ctx = executor.WithInput(ctx, "audit-head:"+strconv.FormatInt(seq, 10))
	published := 0
	for _, room := range []id.RoomID{p.Exec.ManagementRoom(), p.Signer.AttestationRoom()} {
		if room == "" {
			continue
		}
		res, err := p.Exec.Execute(ctx, room, p.BotID.String(), policy.PublishAuditHead(seq, content))
		if err != nil {
			return fmt.Errorf("publish the audit head in %s: %w", room, err)
		}
		if len(res.Failures) > 0 {
			zerolog.Ctx(ctx).Warn().Stringer("room_id", room).Int("failures", len(res.Failures)).Msg("The audit log's head was not published in this room")
			continue
		}
		published++
	}
	if published == 0 {
		return errors.New("no room to publish the audit head in (neither a management room nor an attestation room)")
	}
	if err := p.Store.SetKV(ctx, publishedKey, strconv.FormatInt(seq, 10)); err != nil {
		return err
	}
	p.Log.Info().Int64("seq", seq).Int("rooms", published).Msg("Published the audit log's head")
	return nil
}

// rulesAfter lists the rules of the entries in (after, upTo], stopping at
// the first that is not a publication's own: one is enough to say the head
// changed.
func (p *Publisher) rulesAfter(ctx context.Context, after, upTo int64) ([]string, error) {
	var rules []string
	for cursor := after; cursor < upTo; {
		n := 0
		foreign := false
		err := p.Store.AuditAfter(ctx, cursor, rulesPage, func(e store.AuditEntry) error {
			n++
			cursor = e.Seq
			r := ruleOf(e)
			rules = append(rules, r)
			if r != policy.RuleAuditHead {
				foreign = true
				return errStop
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStop) {
			return nil, err
		}
		if foreign || n == 0 {
			break
		}
	}
	return rules, nil
}

var errStop = errors.New("stop")

// ruleOf is the rule an entry records an action of, "" for a decision.
func ruleOf(e store.AuditEntry) string {
	var d struct {
		Rule string `json:"rule"`
	}
	_ = json.Unmarshal([]byte(e.Detail), &d)
	return d.Rule
}
