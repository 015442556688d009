// Package bridges will hold Caldicott's connectors to systems outside Matrix:
// the trust staff directory (LDAP, CSV, SCIM) and the patient record (FHIR R4).
// Nothing lives here yet; the membership and records issues add it.
//
// It may import store and policy types, never the appservice.
package bridges
