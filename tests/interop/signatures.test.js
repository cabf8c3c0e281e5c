// Interop: RFC 9421 HTTP message signatures between AgentHub and the npm package `http-message-signatures`.
//
//   signer agent --(signed by http-message-signatures)--> hub POST /a2a/echo --(signed by the hub)--> JS echo agent
//
// The hub must accept requests the package signs (ECDSA P-256 and HMAC), refuse a replay, and its own signature on
// the forwarded request must verify with the package using nothing but the hub's JWKS.
import assert from 'node:assert/strict';
import { createHash, createPublicKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { createSigner, createVerifier, httpbis } from 'http-message-signatures';
import { startEchoAgent } from './lib/echo-agent.js';
import { apiOk, recordSecret, startHub } from './lib/hub.js';

let hub;
let agent;
let signerKey; // the agent key of agent:signer (its API key)
let hmac; // { kid, secret }
const ecdsa = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ECDSA_KID = 'signer-ecdsa-1';

before(async () => {
  agent = await startEchoAgent();
  hub = await startHub();
  const admin = hub.adminKey;
  recordSecret((await apiOk(hub.url, admin, 'POST', '/api/v1/agents', { id: 'echo', cardUrl: agent.cardUrl }))?.key?.key);
  const jwk = { ...ecdsa.publicKey.export({ format: 'jwk' }), kid: ECDSA_KID };
  const signer = await apiOk(hub.url, admin, 'POST', '/api/v1/agents', { id: 'signer', cardUrl: agent.cardUrl, keys: [jwk], hmacSecret: true });
  signerKey = recordSecret(signer.key.key);
  hmac = { kid: signer.signatureKeys.hmacKeyId, secret: Buffer.from(recordSecret(signer.signatureKeys.hmacSecret), 'base64url') };
  assert.equal(signer.signatureKeys.requireSignature, true);
  await apiOk(hub.url, admin, 'POST', '/api/v1/policies', { caller: 'agent:signer', agent: 'echo', methods: ['*'], effect: 'allow' });
});

after(async () => {
  await hub?.stop();
  await agent?.close();
});

const FIELDS = ['@method', '@authority', '@path', 'content-type', 'content-digest', 'a2a-version'];

function rpcBody(text) {
  return JSON.stringify({
    jsonrpc: '2.0', id: 1, method: 'SendMessage',
    params: { message: { messageId: randomUUID(), role: 'ROLE_USER', parts: [{ text }] } },
  });
}

/** A request to the relay signed by http-message-signatures with `key`. */
async function signedRequest(key, text) {
  const body = rpcBody(text);
  const request = {
    method: 'POST',
    url: `${hub.url}/a2a/echo`,
    headers: {
      'Content-Type': 'application/json',
      'A2A-Version': '1.0',
      'Content-Digest': `sha-256=:${createHash('sha256').update(body).digest('base64')}:`,
    },
  };
  const signed = await httpbis.signMessage({
    key,
    name: 'sig1',
    fields: FIELDS,
    params: ['created', 'keyid', 'nonce', 'alg'],
    paramValues: { nonce: randomUUID() },
  }, request);
  return { ...signed, body };
}

async function send(request) {
  const res = await fetch(request.url, {
    method: 'POST',
    headers: { ...request.headers, Authorization: `Bearer ${signerKey}` },
    body: request.body,
  });
  return { status: res.status, body: await res.json() };
}

test('a request signed with ecdsa-p256-sha256 by http-message-signatures is accepted', async () => {
  const request = await signedRequest(createSigner(ecdsa.privateKey, 'ecdsa-p256-sha256', ECDSA_KID), 'signed by the npm package');
  const { status, body } = await send(request);
  assert.equal(status, 200, JSON.stringify(body));
  assert.equal(body.result.message.parts[0].text, 'signed by the npm package');
});

test('a request signed with the hub-issued hmac-sha256 secret by http-message-signatures is accepted', async () => {
  const request = await signedRequest(createSigner(hmac.secret, 'hmac-sha256', hmac.kid), 'hmac signed');
  const { status, body } = await send(request);
  assert.equal(status, 200, JSON.stringify(body));
});

test('the same signed request sent again is refused as a replay', async () => {
  const request = await signedRequest(createSigner(ecdsa.privateKey, 'ecdsa-p256-sha256', ECDSA_KID), 'once only');
  assert.equal((await send(request)).status, 200);
  const again = await send(request);
  assert.equal(again.status, 401);
  assert.equal(again.body.error.data[0].reason, 'SIGNATURE_REPLAYED');
});

test('an unsigned request from the agent is refused', async () => {
  const res = await fetch(`${hub.url}/a2a/echo`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${signerKey}`, 'Content-Type': 'application/json', 'A2A-Version': '1.0' },
    body: rpcBody('unsigned'),
  });
  assert.equal(res.status, 401);
  assert.equal((await res.json()).error.data[0].reason, 'SIGNATURE_MISSING');
});

test("the hub's signature on the forwarded request verifies with http-message-signatures and the hub's JWKS", async () => {
  const request = await signedRequest(createSigner(ecdsa.privateKey, 'ecdsa-p256-sha256', ECDSA_KID), 'check the hub');
  const before = agent.requests.length;
  assert.equal((await send(request)).status, 200);
  const forwarded = agent.requests.slice(before).at(-1);
  assert.ok(forwarded, 'the agent saw no request');

  const jwks = await (await fetch(`${hub.url}/.well-known/jwks.json`)).json();
  const message = { method: forwarded.method, url: `${agent.baseUrl}${forwarded.target}`, headers: forwarded.headers };
  const looked = [];
  const verified = await httpbis.verifyMessage({
    keyLookup: async (params) => {
      looked.push(params.keyid);
      const jwk = jwks.keys.find((k) => k.kid === params.keyid);
      return jwk ? { id: jwk.kid, algs: ['ecdsa-p256-sha256'], verify: createVerifier(createPublicKey({ key: jwk, format: 'jwk' }), 'ecdsa-p256-sha256') } : null;
    },
    requiredFields: [...FIELDS, 'agenthub-caller', 'authorization'],
    requiredParams: ['created', 'keyid', 'nonce'],
  }, message);
  assert.equal(verified, true);
  assert.equal(looked.length, 1);
  assert.ok(jwks.keys.some((k) => k.kid === looked[0]), `keyid ${looked[0]} is not in the hub's JWKS`);
  assert.equal(forwarded.headers['agenthub-caller'], 'agent:signer');
  // The body is forwarded unchanged, so the hub's digest is the digest of what the signer sent.
  assert.equal(forwarded.headers['content-digest'], request.headers['Content-Digest']);

  // A changed caller header no longer verifies.
  const tampered = { ...message, headers: { ...message.headers, 'agenthub-caller': 'agent:someone-else' } };
  await assert.rejects(httpbis.verifyMessage({
    keyLookup: async (params) => {
      const jwk = jwks.keys.find((k) => k.kid === params.keyid);
      return { id: jwk.kid, algs: ['ecdsa-p256-sha256'], verify: createVerifier(createPublicKey({ key: jwk, format: 'jwk' }), 'ecdsa-p256-sha256') };
    },
  }, tampered).then((ok) => { if (!ok) throw new Error('not verified'); }));
});
