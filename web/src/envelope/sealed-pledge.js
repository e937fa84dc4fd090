/* The pledge envelope of protocol 1 and 1.1 (docs/protocol.md, "The pledge envelope"): the
 * answers as JSON with a nonce, padded to 1 KiB blocks, sealed to the coalition's key in
 * libsodium's sealed box; and the hash of a withdraw token, the only part of it the server gets.
 * crypto/envelope.py is the same recipe in Python; tests/unit/test_js_interop.py checks both ways. */
import { b64uEncode, concat, utf8 } from './bytes.js';
import { lib } from './crypto-lib.js';

var BLOCK = 1024;
var MAX_PADDED = 8192;

// ISO/IEC 7816-4 padding exactly as libsodium's sodium_pad(blocksize 1024): always adds 1..1024 bytes.
export function pad(bytes) {
  var padded = new Uint8Array(bytes.length + BLOCK - (bytes.length % BLOCK));
  if (padded.length > MAX_PADDED) throw new Error('pledge too large');
  padded.set(bytes);
  padded[bytes.length] = 0x80;
  return padded;
}

export function unpad(padded) {
  if (padded.length < BLOCK || padded.length % BLOCK !== 0) throw new Error('bad padding');
  for (var i = padded.length - 1; i >= padded.length - BLOCK; i--) {
    if (padded[i] === 0x80) return padded.slice(0, i);
    if (padded[i] !== 0) break;
  }
  throw new Error('bad padding');
}

// libsodium crypto_box_seal: nonce = BLAKE2b-192(epk || recipient_pk), output epk || box.
function sealNonce(epk, pk) {
  return lib().blake2b(concat(epk, pk), { dkLen: 24 });
}

export function sealTo(publicKey, bytes) {
  var nacl = lib().nacl;
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) throw new Error('bad public key');
  var eph = nacl.box.keyPair();
  var boxed = nacl.box(bytes, sealNonce(eph.publicKey, publicKey), publicKey, eph.secretKey);
  eph.secretKey.fill(0);
  return concat(eph.publicKey, boxed);
}

export function sealOpen(publicKey, secretKey, ciphertext) {
  if (ciphertext.length < 48) throw new Error('ciphertext too short');
  var epk = ciphertext.subarray(0, 32);
  var opened = lib().nacl.box.open(ciphertext.subarray(32), sealNonce(epk, publicKey), epk, secretKey);
  if (!opened) throw new Error('ciphertext does not open');
  return opened;
}

export function withdrawTokenHash(token) {
  return lib().blake2b(token, { dkLen: 32 });
}

// nonce (protocol 1.1): 16 random bytes, so organizers' tools see a ciphertext stored twice.
export function pledgePlaintext(answers, campaignId, nonce) {
  var p = { v: 1, campaign_id: campaignId, answers: answers };
  if (nonce !== undefined) p.nonce = nonce;
  return utf8.encode(JSON.stringify(p));
}

function newNonce() {
  return b64uEncode(lib().nacl.randomBytes(16));
}

export function sealPledge(answers, campaignId, publicKey, nonce) {
  return sealTo(publicKey, pad(pledgePlaintext(answers, campaignId, nonce === undefined ? newNonce() : nonce)));
}
