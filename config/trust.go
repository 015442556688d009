package config

import (
	"fmt"
	"strings"

	"github.com/matrix-org/gomatrixserverlib/spec"
)

// Trust describes the trust this Caldicott serves.
type Trust struct {
	// Name is the trust's short name, used in notices.
	Name string `yaml:"name"`
	// ManagementRoom is the alias or room ID of the IG admins' room.
	ManagementRoom string `yaml:"management_room"`
	// IGAdmins are the trust's information-governance admins.
	IGAdmins []string `yaml:"ig_admins"`
}

func (t *Trust) validate(p *problems) {
	if t.Name == "" {
		p.add("trust.name", "is required: a short name for your trust, shown in notices")
	}
	if mr := t.ManagementRoom; mr != "" && !strings.HasPrefix(mr, "#") && !strings.HasPrefix(mr, "!") {
		p.add("trust.management_room", "%q must be a room alias (#name:server) or a room ID (!id:server)", mr)
	}
	p.checkUserIDs("trust.ig_admins", t.IGAdmins)
}

// checkUserIDs requires each of list (the key's value) to be a user ID.
func (p *problems) checkUserIDs(key string, list []string) {
	for i, u := range list {
		if _, err := spec.NewUserID(u, true); err != nil {
			p.add(fmt.Sprintf("%s[%d]", key, i), "%q is not a Matrix user ID (@user:server)", u)
		}
	}
}
