// Package policy holds Caldicott's rules. It is pure: rules take plain structs
// (room state, power levels, the requirements from config, and the time when a
// rule needs it) and return a Decision — actions with reasons in plain English.
// It does no I/O and reads no clock, so every rule is a table test and a
// benchmark.
//
// It must never import net/http, database/sql, a database driver, a Matrix
// client, or Caldicott's store, appservice or bridges; purity_test.go fails
// the build if it does.
package policy
