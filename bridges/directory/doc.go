// Package directory keeps the trust's staff directory — who works here, in
// what role and team, with what professional registration, and whether they
// are active, suspended or have left — filled from a CSV import (and, in
// time, LDAP/Active Directory sync and SCIM push).
//
// CSV and LDAP go through Apply, which refuses a partial file and holds an
// update that would remove an implausible share of staff: a broken export
// must never empty the clinical rooms. SCIM writes one person per request,
// so its removals are held to the same limit over a rolling window
// (scim_guard.go); it checks userName domains, never takes over a person
// another source manages, and refuses unknown attributes and huge values
// before anything is read (scim_request.go).
// Both write through store.SaveStaff, which journals everyone whose record
// changed and writes one audit entry per update that changed anyone.
//
// It may import store and policy, never the appservice.
package directory
