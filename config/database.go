package config

import (
	"net/url"
)

// Database selects the store.
type Database struct {
	// Type is sqlite or postgres.
	Type string `yaml:"type"`
	// URI is a file path for sqlite, a postgres:// URL for PostgreSQL.
	URI string `yaml:"uri"`
	// MaxOpenConns bounds the connection pool.
	MaxOpenConns int `yaml:"max_open_conns"`
}

func (d *Database) defaults() {
	setDefault(&d.Type, "sqlite")
	if d.Type == "sqlite" {
		setDefault(&d.URI, "caldicott.db")
	}
	setDefault(&d.MaxOpenConns, 10)
}

func (d *Database) validate(p *problems) {
	switch d.Type {
	case "sqlite":
		if d.URI == "" {
			p.add("database.uri", "is required: a file path such as caldicott.db")
		}
	case "postgres":
		u, err := url.Parse(d.URI)
		if d.URI == "" {
			p.add("database.uri", "is required for postgres (or set %s)", EnvDatabaseURI)
		} else if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			p.add("database.uri", "is not a postgres:// URL")
		}
	default:
		p.add("database.type", "%q is not supported; use sqlite or postgres", d.Type)
	}
	if d.MaxOpenConns < 1 {
		p.add("database.max_open_conns", "must be at least 1")
	}
}
