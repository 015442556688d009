package epr

import "time"

// Person is a member of staff as the staff directory knows them.
type Person struct {
	// MatrixID is the user's Matrix ID, e.g. "@alice:trust-a.nhs.uk".
	MatrixID string
	Name     string
	// Registration is the professional registration as the directory holds
	// it: "GMC 1234567", "NMC 12A3456B", "HCPC PA12345", or empty.
	Registration string
}

// Record is one Matrix message to file in a patient's record.
type Record struct {
	// NHSNumber is the patient's, in any form nhsnumber.Normalize accepts.
	NHSNumber  string
	Sender     Person
	Recipients []Person
	Sent       time.Time
	Text       string
	// RecordedBy filed the message, at RecordedAt.
	RecordedBy Person
	RecordedAt time.Time
	RoomID     string
	// EventID identifies the message; a repost of it is recognised by it.
	EventID string
	// RoomLink is a https://matrix.to/#/<room>/<event> link back to the
	// message; empty, it is made from RoomID and EventID (MatrixToLink).
	RoomLink string
}
