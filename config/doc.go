// Package config holds Caldicott's typed configuration: loading one YAML file
// strictly (an unknown key is an error), defaults, validation whose errors name
// the key and say what is wrong, secrets from the environment, and generation
// of the appservice registration Dendrite reads.
//
// It must not import the store, the appservice or the policy rules.
package config
