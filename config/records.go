package config

import (
	"net/url"
	"time"
)

// FHIR R4 server taking Communication resources.
type Records struct {
	// FHIRBaseURL is the server's base, e.g. https://epr.trust.nhs.uk/fhir
	// (Communication is POSTed to <base>/Communication). Empty: off.
	FHIRBaseURL string `yaml:"fhir_base_url"`
	// Token is sent as a bearer token (or CALDICOTT_FHIR_TOKEN).
	Token string `yaml:"token"`
	// RemindBefore: room admins are reminded this long before a message
	// still waiting for the record would have expired.
	RemindBefore Duration `yaml:"remind_before"`
}

func (r *Records) defaults() {
	setUnset(&r.RemindBefore, 24*time.Hour)
}

func (r *Records) validate(p *problems) {
	if u := r.FHIRBaseURL; u != "" {
		if parsed, err := url.Parse(u); err != nil || (parsed.Scheme != "https" && parsed.Scheme != "http") || parsed.Host == "" {
			p.add("records.fhir_base_url", "%q is not an http(s) URL", u)
		}
	}
}
