// Package gosource reads the module's production Go files once, for the
// tests that keep the code's shape by reading it: imports against
// docs/architecture.md, only the executor writes, decisions only in
// policy, one clock, no test hooks in the binary, every Matrix client
// without logged bodies, short functions, doc comments that name what they
// document. It parses; the tests judge. Only tests import it.
package gosource
