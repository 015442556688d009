//go:build tools

// Package tools pins the Dendrite release Caldicott is tested against, so
// scripts/build-dendrite.sh can build it from the Go module proxy.
package tools

import (
	_ "github.com/element-hq/dendrite/cmd/create-account"
	_ "github.com/element-hq/dendrite/cmd/dendrite"
	_ "github.com/element-hq/dendrite/cmd/generate-config"
	_ "github.com/element-hq/dendrite/cmd/generate-keys"
)
