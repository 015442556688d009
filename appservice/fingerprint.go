package appservice

import (
	"runtime/debug"

	"github.com/caldicott/caldicott/store"
)

// buildVersion names this binary when the command did not (Service.Version):
// the module's version, or the commit it was built from.
func buildVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := info.Main.Version
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" {
			v += "+" + s.Value
		}
	}
	return v
}

// leadRules is what this process would lead by (see store.Rules).
func (s *Service) leadRules() (store.Rules, error) {
	fp, err := s.Cfg.RulesFingerprint()
	if err != nil {
		return store.Rules{}, err
	}
	v := s.Version
	if v == "" {
		v = buildVersion()
	}
	return store.Rules{Fingerprint: fp, Version: v}, nil
}
