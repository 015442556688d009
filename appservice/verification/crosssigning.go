package verification

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/matrix-org/gomatrixserverlib"

	"github.com/caldicott/caldicott/policy"
)

// crossSigningKey is a master or self-signing key as /keys/query returns it.
type crossSigningKey struct {
	UserID string            `json:"user_id"`
	Usage  []string          `json:"usage"`
	Keys   map[string]string `json:"keys"`
}

// keysQueryResponse is the part of /keys/query we read; keys are kept raw
// so their signatures can be checked over exactly what was signed.
type keysQueryResponse struct {
	DeviceKeys      map[string]map[string]json.RawMessage `json:"device_keys"`
	MasterKeys      map[string]json.RawMessage            `json:"master_keys"`
	SelfSigningKeys map[string]json.RawMessage            `json:"self_signing_keys"`
}

// queryKeys fetches members' published keys from the homeserver.
func (s *Verification) queryKeys(ctx context.Context, users []string) (keysQueryResponse, error) {
	var resp keysQueryResponse
	req := map[string]any{"device_keys": map[string][]string{}}
	for _, u := range users {
		req["device_keys"].(map[string][]string)[u] = []string{}
	}
	url := s.Bot.BuildClientURL("v3", "keys", "query")
	if _, err := s.Bot.MakeRequest(ctx, http.MethodPost, url, req, &resp); err != nil {
		return resp, fmt.Errorf("query keys of %d user(s): %w", len(users), err)
	}
	return resp, nil
}

// publishedMasterKey is a user's cross-signing master key as their
// homeserver publishes it, "" when none is published or it is malformed.
func (s *Verification) publishedMasterKey(ctx context.Context, user string) (string, error) {
	resp, err := s.queryKeys(ctx, []string{user})
	if err != nil {
		return "", err
	}
	return checkKeys(user, resp).MasterKey, nil
}

// singleEd25519 returns the key's one ed25519 key ID and public key.
func singleEd25519(k crossSigningKey) (gomatrixserverlib.KeyID, ed25519.PublicKey, string, error) {
	if len(k.Keys) != 1 {
		return "", nil, "", fmt.Errorf("has %d keys, want exactly one", len(k.Keys))
	}
	for id, b64 := range k.Keys {
		pub, unpadded, ok := ed25519Key(b64)
		if !strings.HasPrefix(id, "ed25519:") || !ok {
			return "", nil, "", fmt.Errorf("key %s is not an ed25519 public key", id)
		}
		return gomatrixserverlib.KeyID(id), pub, unpadded, nil
	}
	return "", nil, "", fmt.Errorf("no key")
}

// ed25519Key decodes an ed25519 public key from (possibly padded) base64,
// returning it and its unpadded form; ok is false for anything else.
func ed25519Key(b64 string) (pub ed25519.PublicKey, unpadded string, ok bool) {
	unpadded = strings.TrimRight(b64, "=")
	raw, err := base64.RawStdEncoding.DecodeString(unpadded)
	if err != nil || len(raw) != ed25519.PublicKeySize {
		return nil, "", false
	}
	return ed25519.PublicKey(raw), unpadded, true
}

// checkKeys verifies a member's cross-signing chain cryptographically:
// the master key, the self-signing key's signature by the master key, and
// each device's signature by the self-signing key. Whatever fails a check
// is reported as missing or unsigned, never as verified.
func checkKeys(userID string, resp keysQueryResponse) policy.KeyFacts {
	var f policy.KeyFacts
	problem := func(format string, args ...any) { f.Problems = append(f.Problems, fmt.Sprintf(format, args...)) }

	var master crossSigningKey
	rawMaster, ok := resp.MasterKeys[userID]
	if !ok {
		problem("no master key published")
	} else if err := json.Unmarshal(rawMaster, &master); err != nil || master.UserID != userID || !slices.Contains(master.Usage, "master") {
		problem("master key malformed or not for this user")
	} else if _, _, b64, err := singleEd25519(master); err != nil {
		problem("master key: %v", err)
	} else {
		f.MasterKey = b64
	}

	var sskID gomatrixserverlib.KeyID
	var sskPub ed25519.PublicKey
	if rawSSK, ok := resp.SelfSigningKeys[userID]; !ok {
		problem("no self-signing key published")
	} else if f.MasterKey != "" {
		var ssk crossSigningKey
		masterID, masterPub, _, _ := singleEd25519(master)
		switch err := json.Unmarshal(rawSSK, &ssk); {
		case err != nil || ssk.UserID != userID || !slices.Contains(ssk.Usage, "self_signing"):
			problem("self-signing key malformed or not for this user")
		case gomatrixserverlib.VerifyJSON(userID, masterID, masterPub, rawSSK) != nil:
			problem("self-signing key is not signed by the master key")
		default:
			var kerr error
			if sskID, sskPub, _, kerr = singleEd25519(ssk); kerr != nil {
				problem("self-signing key: %v", kerr)
			} else {
				f.SelfSigningValid = true
			}
		}
	}

	ids := make([]string, 0, len(resp.DeviceKeys[userID]))
	for id := range resp.DeviceKeys[userID] {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, deviceID := range ids {
		signed := f.SelfSigningValid && gomatrixserverlib.VerifyJSON(userID, sskID, sskPub, resp.DeviceKeys[userID][deviceID]) == nil
		if f.SelfSigningValid && !signed {
			problem("device %s is not signed by the self-signing key", deviceID)
		}
		f.Devices = append(f.Devices, policy.DeviceFact{DeviceID: deviceID, Signed: signed})
	}
	return f
}
