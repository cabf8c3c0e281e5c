// RFC 9421 signed relay requests for the replay and tampering check (eng/security/checks/04_replay_tampering.py),
// signed with the npm package `http-message-signatures` as an agent behind the hub signs its calls.
//
//   node sign.mjs < spec.json > signed.json
//
// spec: {"jwk": <private EC P-256 JWK with kid>, "requests": [{"url": "http://127.0.0.1:P/a2a/x", "body": "...",
//        "created": <unix seconds, optional: now>}]}
// out:  [{"headers": {...}}, ...]: Content-Type, A2A-Version, Content-Digest, Signature-Input, Signature, one per request.
//
//   node sign.mjs keygen > keys.json      {"private": <JWK with kid>, "public": <JWK with kid>}: an agent's P-256 key pair
import { createHash, createPrivateKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSigner, httpbis } from 'http-message-signatures';

if (process.argv[2] === 'keygen') {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const kid = `sec-${randomUUID().slice(0, 8)}`;
  process.stdout.write(JSON.stringify({ private: { ...privateKey.export({ format: 'jwk' }), kid }, public: { ...publicKey.export({ format: 'jwk' }), kid } }));
  process.exit(0);
}
const spec = JSON.parse(readFileSync(0, 'utf8'));
const key = createSigner(createPrivateKey({ key: spec.jwk, format: 'jwk' }), 'ecdsa-p256-sha256', spec.jwk.kid);
const FIELDS = ['@method', '@authority', '@path', 'content-type', 'content-digest', 'a2a-version'];

const out = [];
for (const r of spec.requests) {
  const request = {
    method: 'POST',
    url: r.url,
    headers: {
      'Content-Type': 'application/json',
      'A2A-Version': '1.0',
      'Content-Digest': `sha-256=:${createHash('sha256').update(r.body).digest('base64')}:`,
    },
  };
  const paramValues = { nonce: randomUUID() };
  if (r.created !== undefined) paramValues.created = new Date(r.created * 1000);
  const signed = await httpbis.signMessage({ key, name: 'sig1', fields: FIELDS, params: ['created', 'keyid', 'nonce', 'alg'], paramValues }, request);
  out.push({ headers: signed.headers });
}
process.stdout.write(JSON.stringify(out));
