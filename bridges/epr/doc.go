// Package epr files clinical messages from Matrix into the patient record: a
// message becomes a FHIR R4 Communication (Build) posted to the trust's
// electronic patient record (Client.Post).
//
// A post is safe to retry: each Communication carries its Matrix event ID as
// an identifier and is created conditionally on it, so a retry after a lost
// response finds the first copy instead of filing a second. Post tells a
// refusal to fix (*Rejected) from a failure to retry (IsTransient).
//
// The package never logs: the message text and the NHS number are patient
// data, and the errors it returns carry neither.
//
// It may import policy and nhsnumber, never the appservice or store.
package epr
