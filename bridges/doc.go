// Package bridges holds Caldicott's connectors to systems outside Matrix, one
// package each: directory (the trust's staff directory from CSV, LDAP and
// SCIM) and, with the records issue, the patient record (FHIR R4).
//
// They may import store, config and policy types, never the appservice.
package bridges
