// Two clinicians of two trusts, each on matrix-js-sdk (Element's engine)
// with its Rust crypto, each logged in at their own homeserver URL (a
// gatekeeper's, or Dendrite's): A makes an encrypted room and invites B
// across the trusts, B joins; A uploads a file and sends an encrypted
// message naming it and a to-device message; B decrypts the message (its
// room key came by to-device, after A claimed one of B's one-time keys),
// receives the to-device message and downloads the file. Both clients
// long-poll /sync throughout. Prints one JSON line: {"room", "invited",
// "joined", "decrypted", "to_device", "media_ok", "media_path"} or, on a
// failure, what got done and "error".
//
// Usage: node two-trusts.mjs <URL A> <localpart A> <password A> <URL B> <localpart B> <password B>
import { login, sdk, sleep } from "./client.mjs";

const [urlA, userA, passA, urlB, userB, passB] = process.argv.slice(2);
if (!passB) {
  console.error("usage: node two-trusts.mjs <URL A> <localpart A> <password A> <URL B> <localpart B> <password B>");
  process.exit(2);
}
const a = await login(urlA, userA, passA);
const b = await login(urlB, userB, passB);
const out = {};

async function until(what, ms, check) {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(200)) {
    const v = await check();
    if (v) return v;
  }
  throw new Error("timed out waiting for " + what);
}

// download fetches a file as B's client would: authenticated media first,
// the unauthenticated path when the homeserver has no authenticated one.
async function download(mxc) {
  const headers = { Authorization: `Bearer ${b.client.getAccessToken()}` };
  for (const auth of [true, false]) {
    const url = b.client.mxcUrlToHttp(mxc, undefined, undefined, undefined, false, true, auth);
    const resp = await fetch(url, { headers });
    if (resp.ok) return { bytes: Buffer.from(await resp.arrayBuffer()), path: new URL(url).pathname };
  }
  throw new Error("the file could not be downloaded");
}

try {
  const { room_id: roomId } = await a.client.createRoom({
    preset: "private_chat",
    initial_state: [{ type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } }],
  });
  out.room = roomId;
  await a.client.invite(roomId, b.userId);
  await until("B's invitation", 30000, () => b.client.getRoom(roomId)?.getMyMembership() === "invite");
  out.invited = true;
  await b.client.joinRoom(roomId);
  await until("B's join, seen by A", 30000, () => a.client.getRoom(roomId)?.getMember(b.userId)?.membership === "join");
  out.joined = true;

  const toDevice = new Promise((resolve) => b.client.on(sdk.ClientEvent.ToDeviceEvent, (ev) => {
    if (ev.getType() === "org.caldicott.test.ping") resolve(ev.getContent().text);
  }));
  const file = Buffer.from(`handover list ${Date.now()}`);
  const { content_uri: mxc } = await a.client.uploadContent(file, { type: "text/plain", name: "handover.txt" });
  const text = `Ward round at 9, file ${mxc}`;
  await a.client.sendMessage(roomId, { msgtype: "m.text", body: text });
  await a.client.sendToDevice("org.caldicott.test.ping", new Map([[b.userId, new Map([[b.deviceId, { text: "ping" }]])]]));

  await until("B to decrypt A's message", 60000, async () => {
    for (const ev of b.client.getRoom(roomId)?.getLiveTimeline().getEvents() ?? []) {
      if (ev.getSender() !== a.userId || !ev.isEncrypted()) continue;
      await b.client.decryptEventIfNeeded(ev);
      if (ev.getContent()?.body === text) return true;
    }
    return false;
  });
  out.decrypted = true;
  out.to_device = (await Promise.race([toDevice, sleep(30000)])) === "ping";
  const got = await download(mxc);
  out.media_ok = got.bytes.equals(file);
  out.media_path = got.path;
} catch (e) {
  out.error = String(e?.message ?? e);
}
a.client.stopClient();
b.client.stopClient();
console.log(JSON.stringify(out));
process.exit(0);
