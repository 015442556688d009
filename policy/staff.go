package policy

import (
	"fmt"
	"regexp"
	"strings"
)

// StaffStatus is a person's standing in the trust's staff directory.
type StaffStatus string

// Directory statuses.
const (
	StatusActive    StaffStatus = "active"
	StatusSuspended StaffStatus = "suspended"
	StatusLeft      StaffStatus = "left"
)

// ParseStaffStatus reads a status word.
func ParseStaffStatus(s string) (StaffStatus, bool) {
	switch st := StaffStatus(strings.ToLower(strings.TrimSpace(s))); st {
	case StatusActive, StatusSuspended, StatusLeft:
		return st, true
	}
	return "", false
}

// StaffEntry is one person in a trust's staff directory.
type StaffEntry struct {
	UserID string
	Name   string
	// Role is the job title or staff group, e.g. "Consultant", "Staff Nurse".
	Role string
	Team string
	// Registration is the professional registration, e.g. "GMC 1234567",
	// "NMC 12A3456B", "HCPC PA12345"; empty for unregistered staff.
	Registration string
	Status       StaffStatus
}

// Identity is the one-line description the bot posts when someone joins.
func (e StaffEntry) Identity(trust string) string {
	parts := []string{e.Name}
	for _, p := range []string{e.Role, e.Team, e.Registration} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, " · ") + " · " + trust
}

var registrationRE = regexp.MustCompile(`^(GMC \d{7}|NMC \d{2}[A-Z]\d{4}[A-Z]|HCPC [A-Z]{2}\d{5,6})$`)

// ValidateRegistration checks a professional registration's format: GMC
// numbers are 7 digits, NMC PINs 2 digits, a letter, 4 digits and a letter,
// HCPC numbers two letters (the profession) and 5–6 digits.
func ValidateRegistration(s string) error {
	if s == "" || registrationRE.MatchString(s) {
		return nil
	}
	return fmt.Errorf("registration %q is not GMC 1234567, NMC 12A3456B or HCPC PA12345", s)
}
