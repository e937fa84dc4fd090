/* The exact bytes each Ed25519 signature of the protocol covers (docs/protocol.md, "Keys and
 * signatures", and 1.1's tallies and announcements): a prefix naming the statement's purpose and
 * version, then its fields. A public contract: independent clients build the same bytes, and
 * tests/unit/test_js_interop.py checks them against PyNaCl's. Plus the protocol's day format. */
import { concat, utf8 } from './bytes.js';

var DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

export function encryptionKeyMessage(coalitionId, version, notAfter, publicKey) {
  if (typeof coalitionId !== 'string') throw new Error('bad coalition_id');
  if (!Number.isSafeInteger(version) || version < 1) throw new Error('bad key version');
  if (!DATE_RE.test(notAfter)) throw new Error('bad not_after');
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) throw new Error('bad public key');
  return concat(utf8.encode('pledgebox/v1/encryption-key\0' + coalitionId + '\0' + version +
    '\0' + notAfter + '\0'), publicKey);
}

export function campaignMessage(descriptorBytes) {
  return concat(utf8.encode('pledgebox/v1/campaign\0'), descriptorBytes);
}

export function announcementMessage(bodyBytes) {
  return concat(utf8.encode('pledgebox/v1/announcement\0'), bodyBytes);
}

export function tallyMessage(bodyBytes) {
  return concat(utf8.encode('pledgebox/v1/tally\0'), bodyBytes);
}

// A YYYY-MM-DD day (UTC) as days since 1970-01-01, NaN for anything else (2026-02-30 too).
export function dayNumber(date) {
  if (typeof date !== 'string' || !DATE_RE.test(date)) return NaN;
  var t = Date.UTC(+date.slice(0, 4), +date.slice(5, 7) - 1, +date.slice(8, 10));
  return new Date(t).toISOString().slice(0, 10) === date ? t / 86400000 : NaN;
}
