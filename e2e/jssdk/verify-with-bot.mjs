// Plays a clinician verifying with the Caldicott bot by emoji, as they
// would in Element: either types "!policy verify" in the room and accepts
// the bot's request ("command"), or starts the verification from the bot's
// profile in a direct chat ("dm"). When the emoji appear it looks for the
// bot's message listing the same emoji in the room and presses "They
// match" only if it is there (or "They don't match" when told "mismatch").
// Prints one JSON line: {"shown": [...names], "bot_posted": bool,
// "result": "verified"|"cancelled", "reason": ...}.
//
// Usage: node verify-with-bot.mjs <URL> <localpart> <password> <room ID> <bot user ID> command|dm [mismatch]
import { login, sleep } from "./client.mjs";

const [baseUrl, user, password, roomId, bot, mode, answer] = process.argv.slice(2);
if (!mode) {
  console.error("usage: node verify-with-bot.mjs <URL> <localpart> <password> <room ID> <bot user ID> command|dm [mismatch]");
  process.exit(2);
}
const { CryptoEvent, VerificationPhase, VerifierEvent } = await import("matrix-js-sdk/lib/crypto-api/index.js");
const { client, crypto } = await login(baseUrl, user, password);
const out = { shown: [], bot_posted: false };
const timeout = (ms, what) => sleep(ms).then(() => { throw new Error("timed out waiting for " + what); });

// botPosted looks for the bot's message naming these emoji in this order.
async function botPosted(names) {
  for (let i = 0; i < 100; i++) {
    const room = client.getRoom(roomId);
    for (const ev of room?.getLiveTimeline().getEvents() ?? []) {
      if (ev.getSender() !== bot) continue;
      await client.decryptEventIfNeeded(ev);
      const body = ev.getContent()?.body ?? "";
      let at = 0;
      if (names.every((n) => (at = body.indexOf(n, at)) >= 0)) return true;
    }
    await sleep(200);
  }
  return false;
}

try {
  let request;
  if (mode === "dm") {
    request = await crypto.requestVerificationDM(bot, roomId);
  } else {
    const received = new Promise((resolve) => client.on(CryptoEvent.VerificationRequestReceived, (r) => {
      if (r.otherUserId === bot) resolve(r);
    }));
    await client.sendTextMessage(roomId, "!policy verify");
    request = await Promise.race([received, timeout(30000, "the bot's request")]);
    await request.accept();
  }
  for (let i = 0; request.phase !== VerificationPhase.Ready; i++) {
    if (i > 150 || request.phase === VerificationPhase.Cancelled) throw new Error("request not ready, phase " + request.phase);
    await sleep(200);
  }
  const verifier = await request.startVerification("m.sas.v1");
  verifier.on(VerifierEvent.ShowSas, async (sas) => {
    out.shown = sas.sas.emoji.map(([, name]) => name);
    out.bot_posted = await botPosted(out.shown);
    if (out.bot_posted && answer !== "mismatch") await sas.confirm();
    else sas.mismatch();
  });
  await Promise.race([verifier.verify(), timeout(60000, "the verification")]);
  out.result = "verified";
} catch (e) {
  out.result = "cancelled";
  out.reason = String(e?.message ?? e);
}
await sleep(500);
client.stopClient();
console.log(JSON.stringify(out));
process.exit(0);
