// Package testenv starts the real parts Caldicott's tests run against — a
// throwaway PostgreSQL 15 cluster and Dendrite v0.15.2 homeservers — and tears
// them down, so each integration test reads like the scenario it checks.
//
// Under CI (CI=true) a missing part fails the test instead of skipping it.
package testenv
