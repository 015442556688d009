// Shared set-up for the test clients: matrix-js-sdk (the engine inside
// Element Web) with its Rust crypto, logged in with a password, synced, and
// with cross-signing bootstrapped as Element does on first login.
import "fake-indexeddb/auto";

// matrix-js-sdk 43 targets Node 22; Node 20 lacks Promise.withResolvers.
if (!Promise.withResolvers) {
  Promise.withResolvers = function () {
    let resolve, reject;
    const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
    return { promise, resolve, reject };
  };
}

export const sdk = await import("matrix-js-sdk");
const quiet = { debug() {}, info() {}, log() {}, warn() {}, error: console.error, trace() {}, getChild() { return quiet; } };

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// login returns a started client whose device is cross-signed by its own,
// freshly bootstrapped identity.
export async function login(baseUrl, user, password) {
  const resp = await sdk.createClient({ baseUrl }).loginRequest({
    type: "m.login.password", identifier: { type: "m.id.user", user }, password,
  });
  const client = sdk.createClient({ baseUrl, accessToken: resp.access_token, userId: resp.user_id, deviceId: resp.device_id, logger: quiet });
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
    const status = await crypto.getDeviceVerificationStatus(resp.user_id, resp.device_id);
    if (status?.crossSigningVerified) break;
    await sleep(200);
  }
  await sleep(1000);
  return { client, crypto, userId: resp.user_id, deviceId: resp.device_id };
}
