package epr

import (
	"fmt"
	"strings"

	"github.com/samply/golang-fhir-models/fhir-models/fhir"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/policy"
)

// reference is a logical reference to the person as a Practitioner: an EPR
// resolves staff by professional registration, so that is the identifier
// when the directory has one, else their Matrix user; the Matrix user is
// also always in the ExtensionMatrixUser extension, one place to find it.
// Logical rather than contained: the FHIR models have no contained
// resources, and NHS APIs take identifier references to staff.
func (p Person) reference(role string) (*fhir.Reference, error) {
	if p.MatrixID == "" && p.Name == "" {
		return nil, fmt.Errorf("%w: %s has neither a Matrix ID nor a name", ErrIncomplete, role)
	}
	ref := &fhir.Reference{Type: ptr("Practitioner"), Display: ptr(p.Name)}
	if p.Name == "" {
		ref.Display = ptr(p.MatrixID)
	}
	var matrixUser *fhir.Identifier
	if p.MatrixID != "" {
		uri, err := matrixUserURI(p.MatrixID)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", role, err)
		}
		matrixUser = &fhir.Identifier{System: ptr(SystemURI), Value: ptr(uri)}
		ref.Extension = []fhir.Extension{{Url: ExtensionMatrixUser, ValueIdentifier: matrixUser}}
	}
	ref.Identifier = registrationIdentifier(p.Registration)
	if ref.Identifier == nil {
		ref.Identifier = matrixUser
	}
	return ref, nil
}

// registrationIdentifier returns the identifier for a registration written
// as the staff directory writes it ("GMC 1234567"), or nil when there is none
// or it is not in a format policy.ValidateRegistration knows: a reference
// with a name only is better than one naming the wrong professional.
func registrationIdentifier(registration string) *fhir.Identifier {
	if registration == "" || policy.ValidateRegistration(registration) != nil {
		return nil
	}
	prefix, number, _ := strings.Cut(registration, " ")
	system, ok := registers[prefix]
	if !ok {
		return nil
	}
	return &fhir.Identifier{System: ptr(system), Value: ptr(number)}
}

// matrixUserURI returns the matrix: URI for a Matrix user ID.
func matrixUserURI(userID string) (string, error) {
	if _, _, err := id.UserID(userID).Parse(); err != nil {
		return "", fmt.Errorf("not a valid Matrix user ID (%w)", err)
	}
	return id.UserID(userID).URI().String(), nil
}

func ptr[T any](v T) *T { return &v }
