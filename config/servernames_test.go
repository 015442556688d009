package config

import (
	"strings"
	"testing"
)

// One rule names the federation's trusts: federation.servers and the keys
// of federation.bots hold server names exactly as in user IDs, port
// included when there is one, and the bot and attestation room derived
// from them carry it too. The measured failure: a trust on 127.0.0.12:8448
// listed as 127.0.0.12 (as the example config used to say) had its bot
// derived without the port, and naming the bot in federation.bots was
// refused as "not a Matrix user ID on that server".
func TestFederationServerNames(t *testing.T) {
	key := strings.Repeat("A", 43)
	tests := []struct {
		name       string
		federation string
		want       []string // problems, each a substring of the error; none: valid
		server     string   // then: the derived bot and attestation room of this server
		bot, room  string
	}{
		{
			name:       "host name, derived",
			federation: `{servers: [trust-b.nhs.uk]}`,
			server:     "trust-b.nhs.uk", bot: "@caldicott:trust-b.nhs.uk", room: "#caldicott-attestations:trust-b.nhs.uk",
		},
		{
			name:       "server name with a port, derived with the port",
			federation: `{servers: ["127.0.0.12:8448"]}`,
			server:     "127.0.0.12:8448", bot: "@caldicott:127.0.0.12:8448", room: "#caldicott-attestations:127.0.0.12:8448",
		},
		{
			name:       "the measured config, with the port: the bot is accepted",
			federation: `{servers: ["127.0.0.12:8448"], bots: {"127.0.0.12:8448": "@caldicott:127.0.0.12:8448"}}`,
			server:     "127.0.0.12:8448", bot: "@caldicott:127.0.0.12:8448", room: "#caldicott-attestations:127.0.0.12:8448",
		},
		{
			name:       "a bot of another localpart on a server with a port",
			federation: `{servers: ["127.0.0.12:8448"], bots: {"127.0.0.12:8448": "@policy:127.0.0.12:8448"}}`,
			server:     "127.0.0.12:8448", bot: "@policy:127.0.0.12:8448", room: "#caldicott-attestations:127.0.0.12:8448",
		},
		{
			name:       "IPv6 literal with a port",
			federation: `{servers: ["[::1]:8448"], bots: {"[::1]:8448": "@caldicott:[::1]:8448"}}`,
			server:     "[::1]:8448", bot: "@caldicott:[::1]:8448", room: "#caldicott-attestations:[::1]:8448",
		},
		{
			// Nothing else in the file names the port, so config cannot know;
			// the service warns when it meets the trust's users (kit.TrustServerOf).
			name:       "bare host with nothing to contradict it",
			federation: `{servers: ["127.0.0.12"]}`,
			server:     "127.0.0.12", bot: "@caldicott:127.0.0.12", room: "#caldicott-attestations:127.0.0.12",
		},
		{
			name:       "the measured failure: bare host, bot named with the port",
			federation: `{servers: ["127.0.0.12"], bots: {"127.0.0.12": "@caldicott:127.0.0.12:8448"}}`,
			want: []string{
				"federation.bots: @caldicott:127.0.0.12:8448 is on the server 127.0.0.12:8448, not 127.0.0.12: name each trust by its server name as it appears in its user IDs, port included (127.0.0.12:8448), here and in federation.servers",
				`federation.servers[0]: "127.0.0.12" has no port, but federation.bots names the server 127.0.0.12:8448: list the server name as it appears in its user IDs (127.0.0.12:8448), or its bot is looked for as @caldicott:127.0.0.12 and never found`,
			},
		},
		{
			name:       "bare host, bot key pinned with the port",
			federation: `{servers: ["127.0.0.12"], bot_keys: {"@caldicott:127.0.0.12:8448": "` + key + `"}}`,
			want:       []string{`federation.servers[0]: "127.0.0.12" has no port, but federation.bot_keys names the server 127.0.0.12:8448`},
		},
		{
			name:       "bare host, attestation room with the port",
			federation: `{servers: ["127.0.0.12"], attestation_rooms: ["#caldicott-attestations:127.0.0.12:8448"]}`,
			want:       []string{`federation.servers[0]: "127.0.0.12" has no port, but federation.attestation_rooms names the server 127.0.0.12:8448`},
		},
		{
			name:       "bare host, admin on the server with the port",
			federation: `{servers: ["127.0.0.12"], admins: ["@ig:127.0.0.12:8448"]}`,
			want:       []string{`federation.servers[0]: "127.0.0.12" has no port, but federation.admins names the server 127.0.0.12:8448`},
		},
		{
			name:       "port in the key, bot without it",
			federation: `{servers: ["127.0.0.12:8448"], bots: {"127.0.0.12:8448": "@caldicott:127.0.0.12"}}`,
			want:       []string{"federation.bots: @caldicott:127.0.0.12 is on the server 127.0.0.12, not 127.0.0.12:8448"},
		},
		{
			name:       "a bot on another trust's server",
			federation: `{servers: [trust-b.nhs.uk], bots: {"trust-b.nhs.uk": "@caldicott:trust-c.nhs.uk"}}`,
			want:       []string{`federation.bots: "@caldicott:trust-c.nhs.uk" for trust-b.nhs.uk is not a Matrix user ID on that server`},
		},
		{
			name:       "a bot that is not a user ID",
			federation: `{servers: [trust-b.nhs.uk], bots: {"trust-b.nhs.uk": "caldicott"}}`,
			want:       []string{`federation.bots: "caldicott" for trust-b.nhs.uk is not a Matrix user ID`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse([]byte(validConfig + "federation: " + tt.federation + "\n"))
			if len(tt.want) > 0 {
				if err == nil {
					t.Fatal("accepted; want it refused")
				}
				for _, w := range tt.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q\nlacks %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if got := cfg.Federation.BotOf(tt.server, cfg.AppService.BotLocalpart); got != tt.bot {
				t.Errorf("bot of %s = %s, want %s", tt.server, got, tt.bot)
			}
			if got := strings.Join(cfg.Federation.AttestationSources(), " "); got != tt.room {
				t.Errorf("attestation rooms = %s, want %s", got, tt.room)
			}
		})
	}
}
