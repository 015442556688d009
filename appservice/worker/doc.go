// Package worker schedules Caldicott's work: lanes that keep each room's
// (or person's) work in order while rooms proceed in parallel, with long
// jobs on slots of their own so they never hold up enforcement; and the
// periodic jobs, each a row (name, interval, function) run on its own
// ticker. It knows nothing of Matrix or the rules.
package worker
