package config

import (
	"github.com/matrix-org/gomatrixserverlib/spec"
)

// Homeserver says where the trust's Dendrite is.
type Homeserver struct {
	// Address is the client-server API base URL, e.g. http://127.0.0.1:8008.
	Address string `yaml:"address"`
	// Domain is the homeserver's server_name, the part after ':' in user IDs.
	Domain string `yaml:"domain"`
	// AdminToken is the access token of a Dendrite admin account, for
	// signing out a lost device's user; empty disables that command.
	AdminToken string `yaml:"admin_token"`
}

func (h *Homeserver) validate(p *problems) {
	p.checkHTTPURL("homeserver.address", h.Address)
	if h.Domain == "" {
		p.add("homeserver.domain", "is required: the server_name of your Dendrite")
	} else if _, _, ok := spec.ParseAndValidateServerName(spec.ServerName(h.Domain)); !ok {
		p.add("homeserver.domain", "%q is not a valid Matrix server name", h.Domain)
	}
}
