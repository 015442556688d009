package config

import (
	"strings"
	"testing"
	"time"
)

// TestSCIMSection: directory.scim's UPN domains and directory.removal_window
// are checked, each problem named by its key; the window defaults to a day.
func TestSCIMSection(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"domains", `{upn_domains: [trust-a.nhs.uk, Legacy.Trust-A.nhs.uk]}`, ""},
		{"domain with @", `{upn_domains: ["@trust-a.nhs.uk"]}`, `directory.scim.upn_domains[0]: "@trust-a.nhs.uk" is not a domain name`},
		{"domain with port", `{upn_domains: ["trust-a.nhs.uk:8448"]}`, `directory.scim.upn_domains[0]: "trust-a.nhs.uk:8448" is not a domain name`},
		{"wildcard", `{upn_domains: ["*.nhs.uk"]}`, `directory.scim.upn_domains[0]: "*.nhs.uk" is not a domain name`},
		{"empty", `{upn_domains: [""]}`, `directory.scim.upn_domains[0]: "" is not a domain name`},
		{"twice", `{upn_domains: [a.nhs.uk, A.NHS.UK]}`, `directory.scim.upn_domains[1]: "A.NHS.UK" is listed twice`},
		{"short token", `{token: short}`, "directory.scim.token: is too short"},
		{"expect_every", `{token: "ssssssssssssssssssssssssssssssssssssssss", expect_every: 24h}`, ""},
		{"expect_every too short", `{token: "ssssssssssssssssssssssssssssssssssssssss", expect_every: 5s}`, "directory.scim.expect_every: 5s must be 0 (off) or at least 10s"},
		{"expect_every without a token", `{expect_every: 24h}`, "directory.scim.expect_every: 24h0m0s must be 0 (off) or at least 10s, with directory.scim.token set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(validConfig + "directory: {scim: " + tt.yaml + "}\n"))
			if tt.want == "" {
				if err != nil {
					t.Fatalf("want no error, got %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	for yml, want := range map[string]string{
		"{removal_window: 30s}": "directory.removal_window: 30s must be between 1m and 30d",
		"{removal_window: 31d}": "directory.removal_window: 744h0m0s must be between 1m and 30d",
	} {
		if _, err := Parse([]byte(validConfig + "directory: " + yml + "\n")); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error = %v, want %q", yml, err, want)
		}
	}
	cfg, err := Parse([]byte(validConfig))
	if err != nil || cfg.Directory.RemovalWindow.Duration != 24*time.Hour {
		t.Fatalf("default window: %+v %v", cfg.Directory, err)
	}
}
