-- v14 -> v15: Messages sent to the patient record, until the record accepts them
-- payload is the FHIR resource to send; it is emptied once accepted, so patient
-- data stays in Caldicott's database only while delivery is pending.
CREATE TABLE patient_record (
    room_id       TEXT NOT NULL,
    event_id      TEXT NOT NULL,
    command_id    TEXT NOT NULL,
    recorded_by   TEXT NOT NULL,
    requested_at  BIGINT NOT NULL,
    sent_at       BIGINT NOT NULL,
    state         TEXT NOT NULL,
    payload       TEXT NOT NULL,
    attempts      BIGINT NOT NULL DEFAULT 0,
    next_attempt  BIGINT NOT NULL DEFAULT 0,
    last_error    TEXT NOT NULL DEFAULT '',
    resource_id   TEXT NOT NULL DEFAULT '',
    accepted_at   BIGINT NOT NULL DEFAULT 0,
    reminded      BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (room_id, event_id)
);
CREATE INDEX patient_record_due ON patient_record (state, next_attempt);
