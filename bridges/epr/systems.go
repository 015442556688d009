package epr

// Identifier systems and extension URLs written into a Communication.
const (
	// SystemNHSNumber is NHS England's system for the NHS number.
	SystemNHSNumber = "https://fhir.nhs.uk/Id/nhs-number"
	// Professional registers, as UK Core names them.
	SystemGMC  = "https://fhir.hl7.org.uk/Id/gmc-number"
	SystemNMC  = "https://fhir.hl7.org.uk/Id/nmc-number"
	SystemHCPC = "https://fhir.hl7.org.uk/Id/hcpc-number"

	// SystemURI is FHIR's system for an identifier whose value is a URI. A
	// Matrix user is written as the Matrix spec's own URI for them,
	// matrix:u/alice:example.org: globally unique and defined by the Matrix
	// spec, where a made-up https://matrix.org/... system would claim a name
	// in a domain that does not define it.
	SystemURI = "urn:ietf:rfc:3986"

	// SystemMatrixEvent identifies a Communication by the Matrix event it
	// files; Post creates conditionally on it, so a repost finds the first.
	SystemMatrixEvent = "urn:caldicott:matrix-event"

	// ExtensionMatrixUser, on a sender or recipient reference, carries the
	// person's Matrix user when Reference.identifier (which holds one
	// identifier only) carries their professional registration.
	ExtensionMatrixUser = "urn:caldicott:matrix-user"
)

// registers maps a registration's prefix, as the staff directory writes it,
// to its identifier system.
var registers = map[string]string{
	"GMC":  SystemGMC,
	"NMC":  SystemNMC,
	"HCPC": SystemHCPC,
}
