// Package testenv starts the real parts Caldicott's tests run against — a
// throwaway PostgreSQL 15 cluster, Dendrite v0.15.2 homeservers, slapd and a
// FHIR server — and tears them down, so each integration test reads like the
// scenario it checks. It also holds what a test does as a room's member
// through a plain client (Say, Send, SetState), what it waits to see
// (Eventually, WaitForNotice, WaitForState, WaitMembership) and the two
// named waits that are not on a condition: Quiet (nothing must happen for a
// while) and WaitUntil (the clock must pass a time).
//
// A whole trust (Dendrite with Caldicott beside it) is started by the trust
// subpackage, which may import the appservice; this package must not, as
// the appservice's own dependencies use it in their internal tests.
//
// Under CI (CI=true) a missing part fails the test instead of skipping it.
package testenv
