package config

import "time"

// applyDefaults fills what the file left out, each section its own keys.
func (c *Config) applyDefaults() {
	c.AppService.defaults()
	c.Database.defaults()
	c.Federation.defaults()
	c.Policy.defaults()
	c.Directory.defaults()
	c.Retention.defaults()
	c.Records.defaults()
	c.Review.defaults()
	c.Verification.defaults()
	c.Logging.defaults()
	c.AdminAPI.defaults()
	c.HA.defaults()
	c.Gatekeeper.ApplyDefaults(c.Homeserver.Address)
}

// setDefault fills a field the file left empty (or zero).
func setDefault[T comparable](field *T, value T) {
	var zero T
	if *field == zero {
		*field = value
	}
}

// setUnset fills a duration the file did not write, so a 0s written there
// keeps meaning "off".
func setUnset(d *Duration, value time.Duration) {
	if !d.set {
		d.Duration = value
	}
}
