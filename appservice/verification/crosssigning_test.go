package verification

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/policy"
)

func TestCheckKeys(t *testing.T) {
	const user = "@alice:trust-a.example"
	cs := testenv.NewCrossSigning(user)
	phone, laptop := testenv.NewSigningKey(), testenv.NewSigningKey()
	stranger := testenv.NewSigningKey()
	response := func(master, ssk []byte, devices map[string][]byte) keysQueryResponse {
		r := keysQueryResponse{MasterKeys: map[string]json.RawMessage{}, SelfSigningKeys: map[string]json.RawMessage{}, DeviceKeys: map[string]map[string]json.RawMessage{user: {}}}
		if master != nil {
			r.MasterKeys[user] = master
		}
		if ssk != nil {
			r.SelfSigningKeys[user] = ssk
		}
		for id, d := range devices {
			r.DeviceKeys[user][id] = d
		}
		return r
	}
	signedBy := func(k testenv.SigningKey, deviceID string, deviceKey testenv.SigningKey) []byte {
		return k.Sign(user, testenv.DeviceKeysJSON(user, deviceID, deviceKey))
	}
	goodSSK := cs.SelfSigningJSON(cs.Master)
	tests := []struct {
		name          string
		resp          keysQueryResponse
		wantMaster    bool
		wantSSKValid  bool
		wantSigned    map[string]bool
		wantProblemOf string
	}{
		{"full chain", response(cs.MasterJSON(), goodSSK, map[string][]byte{"PHONE": signedBy(cs.SelfSigning, "PHONE", phone), "LAPTOP": signedBy(cs.SelfSigning, "LAPTOP", laptop)}),
			true, true, map[string]bool{"PHONE": true, "LAPTOP": true}, ""},
		{"nothing published", response(nil, nil, map[string][]byte{"PHONE": testenv.DeviceKeysJSON(user, "PHONE", phone)}),
			false, false, map[string]bool{"PHONE": false}, "no master key"},
		{"self-signing key signed by someone else", response(cs.MasterJSON(), cs.SelfSigningJSON(stranger), map[string][]byte{"PHONE": signedBy(cs.SelfSigning, "PHONE", phone)}),
			true, false, map[string]bool{"PHONE": false}, "not signed by the master key"},
		{"device not signed", response(cs.MasterJSON(), goodSSK, map[string][]byte{"PHONE": signedBy(cs.SelfSigning, "PHONE", phone), "NEW": testenv.DeviceKeysJSON(user, "NEW", laptop)}),
			true, true, map[string]bool{"PHONE": true, "NEW": false}, "device NEW is not signed"},
		{"device signed by a stranger's key", response(cs.MasterJSON(), goodSSK, map[string][]byte{"PHONE": signedBy(stranger, "PHONE", phone)}),
			true, true, map[string]bool{"PHONE": false}, "device PHONE is not signed"},
		{"malformed master", response([]byte(`{"user_id":"`+user+`","usage":["master"],"keys":{"ed25519:x":"not base64!"}}`), goodSSK, nil),
			false, false, map[string]bool{}, "master key"},
		{"master of another user", response([]byte(strings.Replace(string(cs.MasterJSON()), user, "@mallory:x", 1)), goodSSK, nil),
			false, false, map[string]bool{}, "not for this user"},
		{"tampered device keys", response(cs.MasterJSON(), goodSSK, map[string][]byte{"PHONE": []byte(strings.Replace(string(signedBy(cs.SelfSigning, "PHONE", phone)), "PHONE\"", "PH0NE\"", 1))}),
			true, true, map[string]bool{"PHONE": false}, "not signed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := checkKeys(user, tt.resp)
			if (f.MasterKey != "") != tt.wantMaster || f.SelfSigningValid != tt.wantSSKValid {
				t.Fatalf("facts = %+v", f)
			}
			if tt.wantMaster && f.MasterKey != cs.Master.Pub {
				t.Errorf("master key = %s, want %s", f.MasterKey, cs.Master.Pub)
			}
			for _, d := range f.Devices {
				if want, ok := tt.wantSigned[d.DeviceID]; !ok || want != d.Signed {
					t.Errorf("device %s signed = %v, want %v", d.DeviceID, d.Signed, want)
				}
			}
			if tt.wantProblemOf != "" && !strings.Contains(strings.Join(f.Problems, "; "), tt.wantProblemOf) {
				t.Errorf("problems %q lack %q", f.Problems, tt.wantProblemOf)
			}
		})
	}
}

// threeSignedDevices is a member with a full chain and three signed devices.
func threeSignedDevices(user string) (*testenv.CrossSigning, keysQueryResponse) {
	cs := testenv.NewCrossSigning(user)
	resp := keysQueryResponse{
		MasterKeys:      map[string]json.RawMessage{user: cs.MasterJSON()},
		SelfSigningKeys: map[string]json.RawMessage{user: cs.SelfSigningJSON(cs.Master)},
		DeviceKeys:      map[string]map[string]json.RawMessage{user: {}},
	}
	for _, id := range []string{"PHONE", "LAPTOP", "WEB"} {
		resp.DeviceKeys[user][id] = cs.SelfSigning.Sign(user, testenv.DeviceKeysJSON(user, id, testenv.NewSigningKey()))
	}
	return cs, resp
}

// BenchmarkCheckKeys: verifying one member's chain (master, self-signing key,
// three devices) — the cryptographic half of a check with keys in hand.
func BenchmarkCheckKeys(b *testing.B) {
	const user = "@alice:trust-a.example"
	_, resp := threeSignedDevices(user)
	b.ReportAllocs()
	for b.Loop() {
		if f := checkKeys(user, resp); !f.SelfSigningValid || len(f.Problems) > 0 {
			b.Fatal(f.Problems)
		}
	}
}

// BenchmarkVerifyMemberCachedKeys: a member's check when their keys have not
// changed since last checked — the common case. Target: under 100 µs.
func BenchmarkVerifyMemberCachedKeys(b *testing.B) {
	const user = "@alice:trust-a.example"
	cs, resp := threeSignedDevices(user)
	var cache keyCache
	att := &policy.Attestation{MasterKey: cs.Master.Pub, By: "@ig:a", Method: "in person"}
	cache.facts(user, resp)
	b.ReportAllocs()
	for b.Loop() {
		if v := policy.Verify(cache.facts(user, resp), att); v.Status != policy.Verified {
			b.Fatal(v)
		}
	}
}
