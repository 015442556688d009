package config

import (
	"regexp"
)

// DefaultMaxTransactionBytes bounds one transaction body. Dendrite sends at most
// 50 events per transaction, and an event is at most 64 KiB, so 8 MiB is ample.
const DefaultMaxTransactionBytes = 8 << 20

var localpartRE = regexp.MustCompile(`^[a-z0-9._=/+-]+$`)

// AppService is the appservice's own HTTP side and identity.
type AppService struct {
	// Address is the URL Dendrite uses to reach Caldicott; it goes into the registration.
	Address string `yaml:"address"`
	// Hostname and Port are where Caldicott listens.
	Hostname string `yaml:"hostname"`
	Port     int    `yaml:"port"`
	// ID is the registration ID.
	ID string `yaml:"id"`
	// BotLocalpart is the bot's user localpart: @<localpart>:<domain>.
	BotLocalpart string `yaml:"bot_localpart"`
	// BotDisplayName is shown in Element next to the bot's notices.
	BotDisplayName string `yaml:"bot_displayname"`
	// ASToken and HSToken are the shared secrets with the homeserver.
	ASToken string `yaml:"as_token"`
	HSToken string `yaml:"hs_token"`
	// MaxTransactionBytes bounds one transaction body from the homeserver.
	MaxTransactionBytes int64 `yaml:"max_transaction_bytes"`
	// Encryption is "enabled" (the bot has its own encryption device, reads
	// commands and sends notices in encrypted rooms) or "disabled".
	Encryption string `yaml:"encryption"`
	// PlaintextInEncryptedRooms: with encryption disabled, the bot's
	// messages to encrypted rooms go in plaintext rather than being
	// withheld (trials and tests whose clients cannot decrypt).
	PlaintextInEncryptedRooms bool `yaml:"plaintext_in_encrypted_rooms"`
	// Timeouts bound every connection to the listener.
	Timeouts HTTPTimeouts `yaml:"timeouts"`
}

func (a *AppService) defaults() {
	setDefault(&a.Hostname, "127.0.0.1")
	setDefault(&a.Port, 29330)
	setDefault(&a.ID, "caldicott")
	setDefault(&a.BotLocalpart, "caldicott")
	setDefault(&a.BotDisplayName, "Caldicott")
	setDefault(&a.MaxTransactionBytes, DefaultMaxTransactionBytes)
	setDefault(&a.Encryption, "enabled")
	a.Timeouts.defaults()
}

func (a *AppService) validate(p *problems) {
	p.checkHTTPURL("appservice.address", a.Address)
	if a.Port < 1 || a.Port > 65535 {
		p.add("appservice.port", "%d is not a TCP port (1-65535)", a.Port)
	}
	if !localpartRE.MatchString(a.BotLocalpart) {
		p.add("appservice.bot_localpart", "%q is not a valid user localpart (lower-case letters, digits, ._=/+-)", a.BotLocalpart)
	}
	p.checkToken("appservice.as_token", EnvASToken, a.ASToken)
	p.checkToken("appservice.hs_token", EnvHSToken, a.HSToken)
	if a.ASToken != "" && a.ASToken != GenerateToken && a.ASToken == a.HSToken {
		p.add("appservice.hs_token", "must differ from as_token")
	}
	switch a.Encryption {
	case "enabled", "disabled":
	default:
		p.add("appservice.encryption", "%q is not enabled or disabled", a.Encryption)
	}
	if a.PlaintextInEncryptedRooms && a.Encryption == "enabled" {
		p.add("appservice.plaintext_in_encrypted_rooms", "needs encryption: disabled (with the bot's encryption device, its messages to encrypted rooms are encrypted)")
	}
	if a.MaxTransactionBytes < 64<<10 {
		p.add("appservice.max_transaction_bytes", "%d is too small; at least 65536 (one event can be 64 KiB)", a.MaxTransactionBytes)
	}
	a.Timeouts.validate(p)
}

// checkToken requires a shared secret generated, or set from env.
func (p *problems) checkToken(key, env, value string) {
	switch {
	case value == "":
		p.add(key, "is missing: run 'caldicott generate-registration' or set %s", env)
	case value == GenerateToken:
		p.add(key, "is still %q: run 'caldicott generate-registration -c <config> -o registration.yaml' first", GenerateToken)
	case len(value) < 32:
		p.add(key, "is too short (%d characters); use at least 32 random characters", len(value))
	}
}
