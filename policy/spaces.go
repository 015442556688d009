package policy

import "fmt"

// SpaceLinkProblem says why a space may not hold a room, or "" when it may.
// Clinical rooms stay out of social and operational spaces, and social
// rooms out of clinical spaces, so patient talk and social chat never sit
// side by side. Unclassified spaces or rooms are not judged.
func SpaceLinkProblem(spaceClass, roomClass Class) string {
	switch {
	case roomClass == Clinical && (spaceClass == Social || spaceClass == Operational):
		return fmt.Sprintf("a clinical room cannot be part of a %s space", spaceClass)
	case roomClass == Social && spaceClass == Clinical:
		return "a social room cannot be part of a clinical space"
	}
	return ""
}
