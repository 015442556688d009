-- v20 -> v21: The leader's lease, for two or more Caldicotts on one database
-- One row. holder is the process that leads (its host name, pid and a
-- random part: never a secret); epoch grows by one at every takeover, and
-- the leader's action-log and audit writes check it in their own
-- transaction, so a leader paused past its lease cannot act once another
-- has taken over; expires_at is when the lease lapses, in milliseconds of
-- the database's own clock, the one clock every process shares (hosts'
-- clocks may disagree). An empty holder at epoch 0: nobody has led yet.
CREATE TABLE leader_lease (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    holder     TEXT NOT NULL,
    epoch      BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
INSERT INTO leader_lease (id, holder, epoch, expires_at) VALUES (1, '', 0, 0);
-- A standby stores the transactions the load balancer sends it; the leader
-- LISTENs on this channel to handle them at once instead of at its next
-- poll of the inbox. SQLite has one process and needs none.
-- only: postgres until "end only"
CREATE FUNCTION caldicott_inbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('caldicott_inbox', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER inbox_notify AFTER INSERT ON inbox FOR EACH STATEMENT EXECUTE FUNCTION caldicott_inbox_notify();
-- end only postgres
