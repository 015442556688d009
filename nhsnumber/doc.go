// Package nhsnumber recognises NHS numbers: the 10-digit patient identifier
// used across NHS England, Wales and the Isle of Man, whose last digit is a
// modulus-11 check on the first nine.
//
// It validates a number a system was given (Normalize, Valid) and spots one
// written in free text (Contains, Count, Redact), so that clinical chat can be
// filed against the right patient and patient identifiers kept out of logs.
//
// Only the check digit is tested, not whether the number was ever issued:
// the NHS does not publish its allocated ranges, and a detector that misses a
// real number is worse than one that flags a made-up one.
//
// Errors never include the number itself: an error ends up in a log, and an
// NHS number in a log is patient data where it should not be.
//
// The package is pure: standard library only, no I/O, no logging.
package nhsnumber
