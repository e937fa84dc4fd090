// Writes tests/testdata/js_sealed_vectors.json from the served script (server/static/js/pledgebox.js), so
// tests/unit/test_js_interop.py can check with PyNaCl that what browsers send opens in libsodium.
//   cd web && npm run vectors
// Every run draws fresh keys and ephemeral keys, so the file changes each time it is made.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadPledgebox, repoRoot } from './load-scripts.mjs';

const { lib, env } = loadPledgebox();
const recipient = lib.nacl.box.keyPair();
const campaignId = 'cmp_JS-vector_0001';
const utf8 = new TextEncoder();

const NONCE = env.b64uEncode(new Uint8Array(16).fill(9)); // protocol 1.1: a nonce in every pledge

function answersOfLength(size) {
  const base = env.pledgePlaintext({ note: '' }, campaignId, NONCE).length;
  return { note: 'y'.repeat(size - base) };
}

const cases = [
  ['short', { name: 'Ana', walkout: 'yes', share_ok: true }],
  ['unicode', { name: 'Zoë Núñez 李雷 🌱', note: 'línea 1\nline "2"\t\\' }],
  ['size_1023', answersOfLength(1023)],
  ['size_1024', answersOfLength(1024)],
  ['size_8191', answersOfLength(8191)],
];

const sealed = cases.map(([name, answers]) => {
  const plaintext = env.pledgePlaintext(answers, campaignId, NONCE);
  const ciphertext = env.sealPledge(answers, campaignId, recipient.publicKey, NONCE);
  return {
    name,
    campaign_id: campaignId,
    answers,
    nonce: NONCE,
    plaintext_b64u: env.b64uEncode(plaintext),
    ciphertext: env.b64uEncode(ciphertext),
  };
});

const tokens = [new Uint8Array(32), lib.nacl.randomBytes(32)].map((token) => ({
  token: env.b64uEncode(token),
  hash: env.b64uEncode(env.withdrawTokenHash(token)),
}));

const keyStatement = {
  coalition_id: 'coa_JS-9_x',
  version: 12,
  not_after: '2030-01-31',
  public_key: env.b64uEncode(recipient.publicKey),
};
keyStatement.message = env.b64uEncode(
  env.encryptionKeyMessage('coa_JS-9_x', 12, '2030-01-31', recipient.publicKey),
);
const descriptorBytes = utf8.encode('{"campaign_id": "cmp_JS", "title": "Café"}');
const campaignStatement = {
  descriptor: env.b64uEncode(descriptorBytes),
  message: env.b64uEncode(env.campaignMessage(descriptorBytes)),
};

const out = {
  source: 'web/make-vectors.mjs running server/static/js/pledgebox.js (built from web/src) in Node',
  recipient_public_key: env.b64uEncode(recipient.publicKey),
  recipient_secret_key: env.b64uEncode(recipient.secretKey),
  sealed,
  withdraw_tokens: tokens,
  statements: { encryption_key: keyStatement, campaign: campaignStatement },
};
const file = join(repoRoot, 'tests', 'testdata', 'js_sealed_vectors.json');
writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
console.log(`wrote ${file}`);
