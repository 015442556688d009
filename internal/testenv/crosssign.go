package testenv

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/matrix-org/gomatrixserverlib"
	"maunium.net/go/mautrix"
)

// SigningKey is an ed25519 key pair with its Matrix key ID.
type SigningKey struct {
	ID   gomatrixserverlib.KeyID
	Pub  string // unpadded base64
	priv ed25519.PrivateKey
}

// NewSigningKey makes a fresh key; its ID is ed25519:<public key>, as
// cross-signing keys are named.
func NewSigningKey() SigningKey {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	b64 := base64.RawStdEncoding.EncodeToString(pub)
	return SigningKey{ID: gomatrixserverlib.KeyID("ed25519:" + b64), Pub: b64, priv: priv}
}

// Sign adds this key's signature by userID to a JSON object.
func (k SigningKey) Sign(userID string, obj []byte) []byte {
	signed, err := gomatrixserverlib.SignJSON(userID, k.ID, k.priv, obj)
	if err != nil {
		panic(err)
	}
	return signed
}

// CrossSigning is a user's cross-signing identity, made by the test the way
// a client (Element) would make it.
type CrossSigning struct {
	UserID      string
	Master      SigningKey
	SelfSigning SigningKey
}

// NewCrossSigning makes a master key and a self-signing key signed by it.
func NewCrossSigning(userID string) *CrossSigning {
	return &CrossSigning{UserID: userID, Master: NewSigningKey(), SelfSigning: NewSigningKey()}
}

func crossKeyJSON(userID, usage string, k SigningKey) []byte {
	raw, _ := json.Marshal(map[string]any{"user_id": userID, "usage": []string{usage}, "keys": map[string]string{string(k.ID): k.Pub}})
	return raw
}

// MasterJSON is the master key object (self-signed by nothing; clients may
// add device signatures, which checks do not need).
func (c *CrossSigning) MasterJSON() []byte { return crossKeyJSON(c.UserID, "master", c.Master) }

// SelfSigningJSON is the self-signing key object signed by signer (normally the master key).
func (c *CrossSigning) SelfSigningJSON(signer SigningKey) []byte {
	return signer.Sign(c.UserID, crossKeyJSON(c.UserID, "self_signing", c.SelfSigning))
}

// DeviceKeysJSON is a device's identity keys, signed by the device itself.
func DeviceKeysJSON(userID, deviceID string, deviceKey SigningKey) []byte {
	raw, _ := json.Marshal(map[string]any{
		"user_id": userID, "device_id": deviceID,
		"algorithms": []string{"m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"},
		"keys":       map[string]string{"ed25519:" + deviceID: deviceKey.Pub, "curve25519:" + deviceID: deviceKey.Pub},
	})
	k := SigningKey{ID: gomatrixserverlib.KeyID("ed25519:" + deviceID), Pub: deviceKey.Pub, priv: deviceKey.priv}
	return k.Sign(userID, raw)
}

// post sends JSON with the client's token and decodes the answer.
func post(ctx context.Context, cli *mautrix.Client, path string, body any) (int, map[string]any, error) {
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, cli.HomeserverURL.String()+path, bytes.NewReader(raw))
	req.Header.Set("Authorization", "Bearer "+cli.AccessToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(data, &out)
	return resp.StatusCode, out, nil
}

// UploadDevice publishes the client's device keys, as a client does on login.
func UploadDevice(t testing.TB, cli *mautrix.Client, deviceKey SigningKey) {
	t.Helper()
	var dk map[string]any
	_ = json.Unmarshal(DeviceKeysJSON(cli.UserID.String(), cli.DeviceID.String(), deviceKey), &dk)
	code, out, err := post(context.Background(), cli, "/_matrix/client/v3/keys/upload", map[string]any{"device_keys": dk})
	if err != nil || code != 200 {
		t.Fatalf("upload device keys: %d %v %v", code, out, err)
	}
}

// UploadCrossSigning publishes master and self-signing keys, answering the
// homeserver's password challenge as Element does; ssk is the self-signing
// key object to publish (normally c.SelfSigningJSON(c.Master)).
func UploadCrossSigning(t testing.TB, cli *mautrix.Client, password string, c *CrossSigning, ssk []byte) {
	t.Helper()
	var master, self map[string]any
	_ = json.Unmarshal(c.MasterJSON(), &master)
	_ = json.Unmarshal(ssk, &self)
	body := map[string]any{"master_key": master, "self_signing_key": self}
	ctx := context.Background()
	code, out, err := post(ctx, cli, "/_matrix/client/v3/keys/device_signing/upload", body)
	if err != nil {
		t.Fatal(err)
	}
	if code == 401 {
		body["auth"] = map[string]any{"type": "m.login.password", "session": out["session"], "identifier": map[string]any{"type": "m.id.user", "user": cli.UserID.Localpart()}, "password": password}
		code, out, err = post(ctx, cli, "/_matrix/client/v3/keys/device_signing/upload", body)
	}
	if err != nil || code != 200 {
		t.Fatalf("upload cross-signing keys: %d %v %v", code, out, err)
	}
}

// SignDevice publishes a self-signing signature of the client's device, as
// Element does when a device is verified.
func SignDevice(t testing.TB, cli *mautrix.Client, c *CrossSigning, signer SigningKey, deviceKey SigningKey) {
	t.Helper()
	signed := signer.Sign(c.UserID, DeviceKeysJSON(c.UserID, cli.DeviceID.String(), deviceKey))
	var obj map[string]any
	_ = json.Unmarshal(signed, &obj)
	body := map[string]any{c.UserID: map[string]any{cli.DeviceID.String(): obj}}
	code, out, err := post(context.Background(), cli, "/_matrix/client/v3/keys/signatures/upload", body)
	if err != nil || code != 200 {
		t.Fatalf("upload device signature: %d %v %v", code, out, err)
	}
	if failures, ok := out["failures"].(map[string]any); ok && len(failures) > 0 {
		t.Fatalf("homeserver refused the signature: %v", fmt.Sprint(failures))
	}
}

// VerifiedMember sets up cross-signing for cli and signs its device, as a
// fully verified clinician's client would.
func VerifiedMember(t testing.TB, cli *mautrix.Client, password string) *CrossSigning {
	t.Helper()
	device := NewSigningKey()
	UploadDevice(t, cli, device)
	cs := NewCrossSigning(cli.UserID.String())
	UploadCrossSigning(t, cli, password, cs, cs.SelfSigningJSON(cs.Master))
	SignDevice(t, cli, cs, cs.SelfSigning, device)
	return cs
}
