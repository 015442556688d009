-- v11 -> v12: Last known members of each room, so people who joined while Caldicott was away are judged as joiners
CREATE TABLE room_member (
    room_id      TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    display_name TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (room_id, user_id)
);
CREATE INDEX room_member_user_idx ON room_member (user_id);
