// Opens and verifies what PyNaCl (libsodium) made, with the browser's own envelope.js.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadPledgebox, repoRoot } from '../load-scripts.mjs';

const { lib, env } = loadPledgebox();
const vectors = JSON.parse(
  readFileSync(join(repoRoot, 'tests', 'testdata', 'pynacl_sealed_vectors.json'), 'utf8'),
);
const d = env.b64uDecode;

test('sealed boxes made by PyNaCl open and unpad in envelope.js', () => {
  const pk = d(vectors.recipient_public_key);
  const sk = d(vectors.recipient_secret_key);
  assert.ok(vectors.sealed.length >= 6);
  for (const v of vectors.sealed) {
    const ciphertext = d(v.ciphertext);
    assert.equal(ciphertext.length, v.padded_length + 48, v.name);
    const padded = env.sealOpen(pk, sk, ciphertext);
    assert.equal(padded.length, v.padded_length, v.name);
    assert.deepEqual(env.unpad(padded), d(v.plaintext_b64u), v.name);
    // Our pad() must produce the very bytes libsodium's sodium_pad did.
    assert.deepEqual(env.pad(d(v.plaintext_b64u)), padded, v.name);
  }
});

test('a tampered PyNaCl sealed box does not open', () => {
  const v = vectors.sealed[0];
  const ciphertext = d(v.ciphertext);
  ciphertext[60] ^= 1;
  assert.throws(() =>
    env.sealOpen(d(vectors.recipient_public_key), d(vectors.recipient_secret_key), ciphertext),
  );
});

test('the Ed25519 key from the PyNaCl seed is the same key', () => {
  const kp = lib.nacl.sign.keyPair.fromSeed(d(vectors.statements.signing_key_seed));
  assert.deepEqual(kp.publicKey, d(vectors.statements.signing_key));
});

test('encryption-key statement: rebuilt byte-for-byte and its PyNaCl signature verifies', () => {
  const s = vectors.statements;
  const ek = s.encryption_key;
  const message = env.encryptionKeyMessage(ek.coalition_id, ek.version, ek.not_after, d(ek.public_key));
  assert.deepEqual(message, d(ek.message));
  assert.ok(lib.nacl.sign.detached.verify(message, d(ek.signature), d(s.signing_key)));
  // The X25519 secret and public halves belong together in both libraries.
  assert.deepEqual(lib.nacl.box.keyPair.fromSecretKey(d(ek.secret_key)).publicKey, d(ek.public_key));
});

test('campaign statement: rebuilt byte-for-byte and its PyNaCl signature verifies', () => {
  const s = vectors.statements;
  const message = env.campaignMessage(d(s.campaign.descriptor));
  assert.deepEqual(message, d(s.campaign.message));
  assert.ok(lib.nacl.sign.detached.verify(message, d(s.campaign.signature), d(s.signing_key)));
});

test('a campaign response signed by PyNaCl passes verifyCampaignResponse', () => {
  const s = vectors.statements;
  const r = env.verifyCampaignResponse(s.campaign_response, s.signing_key, 'cmp_Vector-42', '2031-04-01');
  assert.equal(r.ok, true, r.reason);
  assert.equal(r.descriptor.title, 'Walkout for bus passes');
  assert.equal(r.descriptor.description, 'Café talk — then we walk.');
  assert.equal(r.encryptionKey.version, 3);
  assert.deepEqual(r.encryptionKey.publicKey, d(s.encryption_key.public_key));
  assert.equal(r.keyCheckedAgainstLink, true);
});

test('withdraw token hashes match PyNaCl BLAKE2b-256', () => {
  for (const t of vectors.withdraw_tokens) {
    assert.deepEqual(env.withdrawTokenHash(d(t.token)), d(t.hash));
  }
});
