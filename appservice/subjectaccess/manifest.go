package subjectaccess

// Manifest describes a bundle: who asked, when, about whom, what range,
// how the messages were chosen, what could not be read, and each file's
// checksum. It is manifest.json.
type Manifest struct {
	Format      string `json:"format"`
	Subject     string `json:"subject"`
	RequestedBy string `json:"requested_by"`
	ExportedBy  string `json:"exported_by"`
	Via         string `json:"via"`
	ExportedAt  string `json:"exported_at"`
	Trust       string `json:"trust"`
	Server      string `json:"server"`
	Range       Range  `json:"range"`
	// Selection says in words which messages and audit entries are here.
	Selection []string `json:"selection"`
	Counts    Counts   `json:"counts"`
	// Unreadable counts the encrypted events in range that could not be
	// decrypted, by reason.
	Unreadable map[string]int `json:"unreadable_by_reason,omitempty"`
	// RoomsNotRead are rooms the bot is in whose history it may not read.
	RoomsNotRead []RoomNote `json:"rooms_not_read,omitempty"`
	Files        []File     `json:"files"`
	Notes        []string   `json:"notes"`
}

// Range is the time range as asked and as applied.
type Range struct {
	Since string `json:"since"`
	Until string `json:"until"`
	// From (inclusive) and To (exclusive), RFC 3339 in UTC.
	From string `json:"from"`
	To   string `json:"to_exclusive"`
}

// Counts are the bundle's numbers.
type Counts struct {
	RoomsSearched int `json:"rooms_searched"`
	// EventsRead are the room events in range that were looked at.
	EventsRead int `json:"events_read"`
	Messages   int `json:"messages"`
	// MessagesDecrypted of Messages were encrypted and decrypted.
	MessagesDecrypted int `json:"messages_decrypted"`
	// EncryptedUnreadable are encrypted events in range that could not be
	// decrypted, so could not be searched; those the subject sent are in
	// messages.jsonl without content (EncryptedUnreadableFromSubject).
	EncryptedUnreadable            int `json:"encrypted_unreadable"`
	EncryptedUnreadableFromSubject int `json:"encrypted_unreadable_from_subject"`
	AuditEntries                   int `json:"audit_entries"`
}

// RoomNote is a room and why it was not read.
type RoomNote struct {
	RoomID string `json:"room_id"`
	Reason string `json:"reason"`
}

// File is one file of the bundle.
type File struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
	Bytes  int64  `json:"bytes"`
	Lines  int64  `json:"lines"`
}

// ManifestFormat names this manifest's layout.
const ManifestFormat = "caldicott-subject-access/1"
