package config

// Logging configures zerolog.
type Logging struct {
	// Level is trace, debug, info, warn or error.
	Level string `yaml:"level"`
	// Format is json or pretty.
	Format string `yaml:"format"`
}

func (l *Logging) defaults() {
	setDefault(&l.Level, "info")
	setDefault(&l.Format, "json")
}

func (l *Logging) validate(p *problems) {
	switch l.Level {
	case "trace", "debug", "info", "warn", "error":
	default:
		p.add("logging.level", "%q is not one of trace, debug, info, warn, error", l.Level)
	}
	switch l.Format {
	case "json", "pretty":
	default:
		p.add("logging.format", "%q is not json or pretty", l.Format)
	}
}
