package config

// Config is the whole of caldicott's configuration file.
type Config struct {
	Homeserver   Homeserver   `yaml:"homeserver"`
	AppService   AppService   `yaml:"appservice"`
	Database     Database     `yaml:"database"`
	Trust        Trust        `yaml:"trust"`
	Federation   Federation   `yaml:"federation"`
	Policy       Policy       `yaml:"policy"`
	Directory    Directory    `yaml:"directory"`
	Review       Review       `yaml:"review"`
	Verification Verification `yaml:"verification"`
	Retention    Retention    `yaml:"retention"`
	Records      Records      `yaml:"records"`
	Bridges      Bridges      `yaml:"bridges"`
	Audit        Audit        `yaml:"audit"`
	AdminAPI     AdminAPI     `yaml:"admin_api"`
	Logging      Logging      `yaml:"logging"`
	Gatekeeper   Gatekeeper   `yaml:"gatekeeper"`
	HA           HA           `yaml:"ha"`
}
