// Package trust starts one demo trust for a test — a real Dendrite and a
// Caldicott beside it, in-process — and holds what a scenario does with it
// (a clinical room, the IG admin, a federation of two).
//
// It is apart from testenv because it imports the appservice, and packages
// the appservice imports (store, executor, …) use testenv in their own
// internal tests: testenv importing the appservice would be an import cycle.
package trust
