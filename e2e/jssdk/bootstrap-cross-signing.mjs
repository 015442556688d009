// Logs in with matrix-js-sdk (the engine inside Element Web), starts its Rust
// crypto, bootstraps cross-signing with password auth as Element does on first
// login, and prints {"user_id","device_id","master_key"} as JSON.
//
// Usage: node bootstrap-cross-signing.mjs <homeserver URL> <localpart> <password>
import "fake-indexeddb/auto";

// matrix-js-sdk 43 targets Node 22; Node 20 lacks Promise.withResolvers.
if (!Promise.withResolvers) {
  Promise.withResolvers = function () {
    let resolve, reject;
    const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
    return { promise, resolve, reject };
  };
}

const sdk = await import("matrix-js-sdk");
const [baseUrl, user, password] = process.argv.slice(2);
if (!password) {
  console.error("usage: node bootstrap-cross-signing.mjs <homeserver URL> <localpart> <password>");
  process.exit(2);
}
const quiet = { debug() {}, info() {}, log() {}, warn() {}, error: console.error, trace() {}, getChild() { return quiet; } };

const login = await sdk.createClient({ baseUrl }).loginRequest({
  type: "m.login.password", identifier: { type: "m.id.user", user }, password,
});
const client = sdk.createClient({ baseUrl, accessToken: login.access_token, userId: login.user_id, deviceId: login.device_id, logger: quiet });
await client.initRustCrypto({ useIndexedDB: false });
const prepared = new Promise((resolve) => client.once(sdk.ClientEvent.Sync, (state) => resolve(state)));
await client.startClient({ initialSyncLimit: 1 });
await prepared;

const crypto = client.getCrypto();
await crypto.bootstrapCrossSigning({
  authUploadDeviceSigningKeys: async (makeRequest) => {
    await makeRequest({ type: "m.login.password", identifier: { type: "m.id.user", user }, password });
  },
});
// Let the outgoing-requests loop publish the device keys and signatures.
for (let i = 0; i < 50; i++) {
  const status = await crypto.getDeviceVerificationStatus(login.user_id, login.device_id);
  if (status?.crossSigningVerified) break;
  await new Promise((r) => setTimeout(r, 200));
}
await new Promise((r) => setTimeout(r, 1000));
const masterKey = await crypto.getCrossSigningKeyId();
client.stopClient();
console.log(JSON.stringify({ user_id: login.user_id, device_id: login.device_id, master_key: masterKey }));
process.exit(0);
