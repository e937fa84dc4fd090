/* Bytes and their one wire encoding (base64url, unpadded, strictly canonical: docs/protocol.md
 * "Encodings"), shared by sealing a pledge and checking signed statements; no library needed,
 * so the withdraw page can check a receipt with these alone. */

export var utf8 = new TextEncoder();

// concat(a, b, ...): one Uint8Array holding the given ones in order.
export function concat() {
  var parts = Array.prototype.slice.call(arguments);
  var out = new Uint8Array(parts.reduce(function (n, p) { return n + p.length; }, 0));
  parts.reduce(function (at, p) { out.set(p, at); return at + p.length; }, 0);
  return out;
}

// Constant time in the bytes' content: keys and signatures are compared with it.
export function sameBytes(a, b) {
  if (!(a instanceof Uint8Array) || !(b instanceof Uint8Array) || a.length !== b.length) return false;
  var diff = 0;
  for (var i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

var B64U = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

// Bytes as a string of char codes 0-255, in slices (one call per 8 KiB, not one per byte: the
// page encodes whole descriptors, and a slow phone's interpreter feels a loop per byte).
function latin1(bytes) {
  var out = '';
  for (var i = 0; i < bytes.length; i += 8192) {
    out += String.fromCharCode.apply(null, bytes.subarray(i, i + 8192));
  }
  return out;
}

export function b64uEncode(bytes) {
  return btoa(latin1(bytes)).replace(/[+/=]/g, function (c) { return c === '+' ? '-' : c === '/' ? '_' : ''; });
}

// Strict: only the unpadded URL-safe alphabet, and only the one canonical spelling of the bytes:
// the bits a last character carries beyond the bytes (4 after 2 characters of a group, 2 after
// 3) must be zero, which is exactly when encoding the bytes again gives the same text.
export function b64uDecode(text) {
  if (typeof text !== 'string' || !/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) {
    throw new Error('bad base64url');
  }
  var spare = [0, 0, 15, 3][text.length % 4];
  if (spare && (B64U.indexOf(text.charAt(text.length - 1)) & spare) !== 0) throw new Error('bad base64url');
  var bin = atob(text.replace(/[-_]/g, function (c) { return c === '-' ? '+' : '/'; }));
  var out = new Uint8Array(bin.length);
  for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
