// Package appservice assembles Caldicott's Matrix side and holds only the
// wiring: the HTTP surface (intake, mautrix's endpoints, SCIM, metrics),
// the event router that turns stored events into inputs for the
// capabilities, the command list, the periodic jobs table and start-up.
//
// Everything else lives in subpackages, cut by concern, with imports that
// point one way (structure_test.go keeps them so): intake and commands
// (inputs) → facts (reads) → policy (the rules, outside this tree) →
// executor (the only writer). The capabilities — hardening, membership,
// verification — never import one another; they meet through interfaces
// wired in service.go. It must not contain rules: what to do is decided in
// package policy.
package appservice
