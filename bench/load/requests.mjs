// Request files for bench/load/relay.lua (complete HTTP/1.1 requests separated by a line "--8<--").
//
//   node requests.mjs keygen DIR                      an EC P-256 key pair: DIR/signer.jwk (private), DIR/signer.pub.jwk
//   node requests.mjs plain  --url U --method M [--key API_KEY] --out FILE
//   node requests.mjs signed --url U --method M --key API_KEY --jwk PRIVATE_JWK --count N --out FILE
//
// `signed` writes N requests, each signed with RFC 9421 (ecdsa-p256-sha256, created = now, its own nonce) over
// "@method" "@authority" "@path" "content-type" "content-digest" "a2a-version", as an agent behind the hub signs.
// Only Node's own crypto is used, so the figures do not depend on a package's speed.
import { createHash, generateKeyPairSync, createPrivateKey, sign, randomBytes } from 'node:crypto';
import { writeFileSync, readFileSync, mkdirSync } from 'node:fs';
import { parseArgs } from 'node:util';

const [mode, ...rest] = process.argv.slice(2);
if (mode === 'keygen') {
  const dir = rest[0];
  mkdirSync(dir, { recursive: true });
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const kid = 'bench-signer';
  writeFileSync(`${dir}/signer.jwk`, JSON.stringify({ ...privateKey.export({ format: 'jwk' }), kid }));
  writeFileSync(`${dir}/signer.pub.jwk`, JSON.stringify({ ...publicKey.export({ format: 'jwk' }), kid, alg: 'ES256', use: 'sig' }));
  process.exit(0);
}

const { values: o } = parseArgs({
  args: rest,
  options: {
    url: { type: 'string' }, method: { type: 'string', default: 'SendMessage' }, key: { type: 'string' },
    jwk: { type: 'string' }, count: { type: 'string', default: '1' }, out: { type: 'string' },
  },
});
const url = new URL(o.url);
// A realistic ~1 KB A2A v1.0 request: a user message with some text and metadata.
const body = Buffer.from(JSON.stringify({
  jsonrpc: '2.0', id: 1, method: o.method,
  params: {
    message: {
      messageId: '9a0c1e4e-5c3b-4f44-9a8e-0d4c1f6b2a11', role: 'ROLE_USER', contextId: 'ctx-bench',
      parts: [{ text: 'Summarise the attached quarterly figures for the planning meeting. '.repeat(12) }],
      metadata: { source: 'bench' },
    },
    configuration: { acceptedOutputModes: ['text/plain'], blocking: true },
  },
}));
const digest = `sha-256=:${createHash('sha256').update(body).digest('base64')}:`;

function request(extra) {
  const headers = [
    `POST ${url.pathname}${url.search} HTTP/1.1`, `Host: ${url.host}`, 'Content-Type: application/json',
    'A2A-Version: 1.0', `Content-Length: ${body.length}`,
  ];
  if (o.key) headers.push(`Authorization: Bearer ${o.key}`);
  return Buffer.concat([Buffer.from([...headers, ...extra, '', ''].join('\r\n')), body, Buffer.from('--8<--\n')]);
}

if (mode === 'plain') {
  writeFileSync(o.out, request([]));
} else if (mode === 'signed') {
  const jwk = JSON.parse(readFileSync(o.jwk, 'utf8'));
  const key = createPrivateKey({ key: jwk, format: 'jwk' });
  const created = Math.floor(Date.now() / 1000);
  const parts = [];
  for (let i = 0; i < Number(o.count); i++) {
    const nonce = randomBytes(12).toString('base64url');
    const params = `("@method" "@authority" "@path" "content-type" "content-digest" "a2a-version");created=${created};keyid="${jwk.kid}";nonce="${nonce}";alg="ecdsa-p256-sha256"`;
    const base = [
      `"@method": POST`, `"@authority": ${url.host}`, `"@path": ${url.pathname}`, `"content-type": application/json`,
      `"content-digest": ${digest}`, `"a2a-version": 1.0`, `"@signature-params": ${params}`,
    ].join('\n');
    const signature = sign('sha256', Buffer.from(base), { key, dsaEncoding: 'ieee-p1363' }).toString('base64');
    parts.push(request([`Content-Digest: ${digest}`, `Signature-Input: sig1=${params}`, `Signature: sig1=:${signature}:`]));
  }
  writeFileSync(o.out, Buffer.concat(parts));
} else {
  console.error('usage: node requests.mjs keygen DIR | plain … | signed …');
  process.exit(2);
}
