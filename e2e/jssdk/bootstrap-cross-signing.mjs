// Logs in with matrix-js-sdk, bootstraps cross-signing and prints
// {"user_id","device_id","master_key"} as JSON.
//
// Usage: node bootstrap-cross-signing.mjs <homeserver URL> <localpart> <password>
import { login } from "./client.mjs";

const [baseUrl, user, password] = process.argv.slice(2);
if (!password) {
  console.error("usage: node bootstrap-cross-signing.mjs <homeserver URL> <localpart> <password>");
  process.exit(2);
}
const { client, crypto, userId, deviceId } = await login(baseUrl, user, password);
const masterKey = await crypto.getCrossSigningKeyId();
client.stopClient();
console.log(JSON.stringify({ user_id: userId, device_id: deviceId, master_key: masterKey }));
process.exit(0);
