// Package bench holds Caldicott's benchmarks: transaction intake, and the
// long scenarios on real Dendrites (parallel enforcement over a thousand
// clinical rooms, the retention sweep, the federation policy list, an
// identity reset). Its code is all in tests; docs/benchmarks.md says how
// to run each and records the figures.
//
// The scenarios take minutes to hours: they run only when a -bench
// pattern names them and -short is not given (make bench gives it), and
// take their sizes from -bench.* flags, not the environment.
package bench
