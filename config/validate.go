package config

import (
	"fmt"
	"net/url"
	"strings"
)

// Problem is one thing wrong with the config, named by its key.
type Problem struct {
	Key string
	Msg string
}

// ValidationError lists every problem found, not just the first, so an
// operator fixes the file in one go.
type ValidationError struct{ Problems []Problem }

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = fmt.Sprintf("%s: %s", p.Key, p.Msg)
	}
	return "invalid config: " + strings.Join(parts, "; ")
}

// GenerateToken is the placeholder that generate-registration replaces.
const GenerateToken = "generate"

// problems collects what the sections find wrong, in the order found.
type problems []Problem

// add records that key is wrong; format and args say how.
func (p *problems) add(key, format string, args ...any) {
	*p = append(*p, Problem{Key: key, Msg: fmt.Sprintf(format, args...)})
}

// Validate checks every key and reports all problems. Each section checks
// itself (Dendrite's Verify pattern), in the file where its type lives.
func (c *Config) Validate() error {
	var p problems
	c.Homeserver.validate(&p)
	c.AppService.validate(&p)
	c.Database.validate(&p)
	c.Trust.validate(&p)
	c.Federation.validate(&p, c.AppService.BotLocalpart)
	c.Policy.validate(&p)
	c.Directory.validate(&p)
	c.Review.validate(&p)
	c.Retention.validate(&p)
	c.Records.validate(&p)
	c.Verification.validate(&p)
	c.Bridges.validate(&p)
	c.Logging.validate(&p)
	c.Audit.validate(&p)
	c.AdminAPI.validate(&p, c.AppService.Hostname, c.AppService.Port)
	c.HA.validate(&p)
	p = append(p, c.Gatekeeper.Problems()...)
	if len(p) > 0 {
		return &ValidationError{Problems: p}
	}
	return nil
}

// checkHTTPURL requires value to be an http(s) URL; example shows one.
func (p *problems) checkHTTPURL(key, value string) {
	if value == "" {
		p.add(key, "is required (e.g. http://127.0.0.1:8008)")
		return
	}
	u, err := url.Parse(value)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p.add(key, "%q is not an http(s) URL", value)
	}
}

// BotUserID is the bot's full Matrix user ID.
func (c *Config) BotUserID() string {
	return "@" + c.AppService.BotLocalpart + ":" + c.Homeserver.Domain
}
