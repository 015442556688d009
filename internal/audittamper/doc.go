// Package audittamper plays an attacker with direct access to Caldicott's
// database: it drops the audit log's append-only triggers and edits,
// deletes or consistently rewrites entries, so tests can show what
// `caldicott audit verify` catches.
//
// Only tests import it. It used to be methods on store.Store, which put a
// "drop the triggers and run any SQL" door into the production binary;
// cmd/caldicott's TestNoTestHooksInProductionSource fails if the production
// build imports this package or a production file declares a *ForTest
// function, and TestProductionBinaryHasNoTestHooks if the built binary
// holds either.
package audittamper
