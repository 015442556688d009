// watch-redaction.mjs <baseUrl> <user> <password> <roomId> <text> <timeoutMs>
// A clinician's client (matrix-js-sdk, Element's engine, with its crypto)
// sends <text> into the room, keeps syncing, and reports whether its local
// store still holds the text once the message has been redacted — as
// Caldicott's retention sweep does when the message expires.
import { login, sdk, sleep } from "./client.mjs";

const [baseUrl, user, password, roomId, text, timeoutMs] = process.argv.slice(2);
const { client } = await login(baseUrl, user, password);
for (let i = 0; i < 50 && !client.getRoom(roomId); i++) await sleep(200);
const room = client.getRoom(roomId);
if (!room) throw new Error(`room ${roomId} not in the client's store`);
const { event_id: eventId } = await client.sendTextMessage(roomId, text);
console.log(JSON.stringify({ sent: eventId }));

// Everything the client keeps about the room's timeline, as it would persist.
const held = () => room.getLiveTimeline().getEvents().some((e) =>
  JSON.stringify(e.event).includes(text) || JSON.stringify(e.getClearContent() ?? {}).includes(text) ||
  JSON.stringify(e.getContent() ?? {}).includes(text));

const deadline = Date.now() + Number(timeoutMs);
let seenBefore = false;
while (Date.now() < deadline) {
  const ev = room.findEventById(eventId);
  if (ev && !ev.isRedacted() && held()) seenBefore = true;
  if (ev && ev.isRedacted()) {
    await sleep(500);
    console.log(JSON.stringify({ event_id: eventId, seen_before: seenBefore, redacted: true, text_still_held: held() }));
    client.stopClient();
    process.exit(0);
  }
  await sleep(200);
}
console.log(JSON.stringify({ event_id: eventId, seen_before: seenBefore, redacted: false, text_still_held: held() }));
client.stopClient();
process.exit(0);
