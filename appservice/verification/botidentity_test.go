//go:build goolm

package verification

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/caldicott/caldicott/appservice/kit"
	"github.com/caldicott/caldicott/config"
)

// The bot's cross-signing seeds are sealed under the as_token: they open
// only with the same token, and any change to the sealed value is refused.
func TestSealOpensOnlyWithTheSameToken(t *testing.T) {
	svc := func(token string) *Verification {
		cfg := &config.Config{}
		cfg.AppService.ASToken = token
		return &Verification{Kit: &kit.Kit{Cfg: cfg}}
	}
	a := svc(strings.Repeat("a", 40))
	sealed, err := a.seal(map[string]string{"seed": "secret"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, "secret") {
		t.Fatal("sealed value shows the secret")
	}
	var got map[string]string
	if err := a.unseal(sealed, &got); err != nil || got["seed"] != "secret" {
		t.Fatalf("unseal = %v %v", got, err)
	}
	if err := svc(strings.Repeat("b", 40)).unseal(sealed, &got); err == nil || !strings.Contains(err.Error(), "as_token") {
		t.Fatalf("opened with another token: %v", err)
	}
	raw, _ := base64.StdEncoding.DecodeString(sealed)
	raw[len(raw)-1] ^= 1
	if err := a.unseal(base64.StdEncoding.EncodeToString(raw), &got); err == nil {
		t.Fatal("a tampered value opened")
	}
	if err := a.unseal("not base64!", &got); err == nil {
		t.Fatal("garbage opened")
	}
}
