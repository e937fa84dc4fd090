/* Checking what the organizers signed before the page believes it: the campaign's descriptor,
 * its encryption key, its tally and its announcements, each under the coalition's signing key
 * (itself checked against the link's #k=). The browser's own Ed25519 (WebCrypto) may vouch for a
 * signature first; tweetnacl (crypto-lib.js) checks whatever it did not. Each check returns
 * {ok, reason?, ...}; the reasons are the page's refusals (page/notices.js). */
import { b64uDecode, sameBytes } from './bytes.js';
import { lib } from './crypto-lib.js';
import { announcementMessage, campaignMessage, dayNumber, encryptionKeyMessage, tallyMessage }
  from './statements.js';

// Signatures the browser's own Ed25519 (WebCrypto) already found valid, for exactly these bytes:
// the signature's text maps to the keys and messages it was found valid for, compared byte for
// byte. Only "valid" is remembered: anything else is checked again by tweetnacl, so the answer
// never depends on which one ran, only the time (a cold tweetnacl verify is slow on a slow phone).
var nativelyValid = new Map();

function verifySig(message, sigB64u, signingKey) {
  var sig = b64uDecode(sigB64u);
  var known = nativelyValid.get(sigB64u) || [];
  if (sig.length === 64 && signingKey.length === 32 && known.some(function (k) {
    return sameBytes(k.key, signingKey) && sameBytes(k.message, message);
  })) {
    return true;
  }
  return lib().nacl.sign.detached.verify(message, sig, signingKey);
}

// Resolves true when the browser's own Ed25519 found the signature valid (and remembers it).
function nativeVerify(message, sigB64u, signingKey) {
  var subtle = globalThis.crypto && globalThis.crypto.subtle;
  if (!subtle) return Promise.resolve(false);
  var checked = { key: signingKey.slice(), message: message.slice() }; // the bytes as given now
  return subtle.importKey('raw', checked.key, { name: 'Ed25519' }, false, ['verify']).then(function (k) {
    return subtle.verify({ name: 'Ed25519' }, k, b64uDecode(sigB64u), checked.message);
  }).then(function (ok) {
    if (ok) {
      var known = nativelyValid.get(sigB64u) || [];
      known.push(checked);
      nativelyValid.set(sigB64u, known);
    }
    return !!ok;
  }).catch(function () { return false; /* no native Ed25519 here: tweetnacl does it all */ });
}

// Before verifyCampaignResponse: lets the browser check the same signatures natively (the
// campaign's, its key's, its tally's and those of the announcements given). Resolves to true
// when every one was found valid natively, so the page can verify without tweetnacl, which it
// then loads only to seal; false means tweetnacl must check (and decide) the rest.
// verifyCampaignResponse still decides everything.
export function preverifyCampaign(json, announcements) {
  try {
    var key = b64uDecode(json.signing_key);
    var ek = json.encryption_key;
    var checks = [
      nativeVerify(campaignMessage(b64uDecode(json.descriptor)), json.descriptor_signature, key),
      nativeVerify(encryptionKeyMessage(json.coalition_id, ek.version, ek.not_after,
        b64uDecode(ek.public_key)), ek.signature, key),
    ];
    if (json.tally) checks.push(nativeVerify(tallyMessage(b64uDecode(json.tally.body)), json.tally.signature, key));
    (announcements || []).forEach(function (item) {
      checks.push(nativeVerify(announcementMessage(b64uDecode(item.body)), item.signature, key));
    });
    return Promise.all(checks).then(function (all) { return all.every(Boolean); });
  } catch (e) {
    return Promise.resolve(false);
  }
}

// Checks one {"version","not_after","public_key","signature"} object (also the one a 409
// stale_key carries). Returns {ok, reason?, key?: {version, notAfter, publicKey}}.
export function verifyEncryptionKey(ek, signingKey, coalitionId, todayUTC) {
  try {
    var publicKey = b64uDecode(ek.public_key);
    var message = encryptionKeyMessage(coalitionId, ek.version, ek.not_after, publicKey);
    if (!verifySig(message, ek.signature, signingKey)) return { ok: false, reason: 'bad_key_signature' };
  } catch (e) {
    return { ok: false, reason: 'malformed' };
  }
  var notAfter = dayNumber(ek.not_after);
  var today = dayNumber(todayUTC);
  if (isNaN(notAfter) || isNaN(today)) return { ok: false, reason: 'malformed' };
  if (notAfter < today - 1) return { ok: false, reason: 'key_expired' };
  return { ok: true, key: { version: ek.version, notAfter: ek.not_after, publicKey: publicKey } };
}

var FIELD_TYPES = ['text', 'choice', 'checkbox', 'contact'];

function descriptorLooksUsable(d) {
  return d && typeof d === 'object' && typeof d.title === 'string' && Array.isArray(d.fields) &&
    !isNaN(dayNumber(d.closes_at)) && !isNaN(dayNumber(d.delete_after)) &&
    d.fields.every(function (f) {
      return f && typeof f.id === 'string' && FIELD_TYPES.indexOf(f.type) >= 0 &&
        (f.type !== 'choice' || (Array.isArray(f.options) && f.options.length > 0));
    });
}

// The whole check a page must pass before it may encrypt (protocol: "Share links").
export function verifyCampaignResponse(json, fragmentKeyOrNull, campaignIdAsked, todayUTC) {
  var fail = function (reason) { return { ok: false, reason: reason }; };
  var signingKey, descriptorBytes, descriptor;
  try {
    if (!json || typeof json !== 'object' || !json.encryption_key) return fail('malformed');
    signingKey = b64uDecode(json.signing_key);
    descriptorBytes = b64uDecode(json.descriptor);
    if (signingKey.length !== 32) return fail('malformed');
    if (fragmentKeyOrNull !== null && fragmentKeyOrNull !== undefined) {
      var fragmentKey = typeof fragmentKeyOrNull === 'string' ? b64uDecode(fragmentKeyOrNull) : fragmentKeyOrNull;
      if (!sameBytes(fragmentKey, signingKey)) return fail('fragment_key_mismatch');
    }
    if (!verifySig(campaignMessage(descriptorBytes), json.descriptor_signature, signingKey)) {
      return fail('bad_descriptor_signature');
    }
    descriptor = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(descriptorBytes));
  } catch (e) {
    return fail('malformed');
  }
  if (json.campaign_id !== campaignIdAsked || descriptor.campaign_id !== campaignIdAsked) {
    return fail('campaign_mismatch');
  }
  if (typeof json.coalition_id !== 'string' || descriptor.coalition_id !== json.coalition_id) {
    return fail('coalition_mismatch');
  }
  if (!descriptorLooksUsable(descriptor)) return fail('bad_descriptor');
  var ek = verifyEncryptionKey(json.encryption_key, signingKey, json.coalition_id, todayUTC);
  if (!ek.ok) return ek;
  return {
    ok: true,
    descriptor: descriptor,
    signingKey: signingKey,
    coalitionId: json.coalition_id,
    encryptionKey: ek.key,
    keyCheckedAgainstLink: fragmentKeyOrNull !== null && fragmentKeyOrNull !== undefined,
  };
}

// One {"body", "signature"} item of GET /api/v1/campaigns/{id}/announcements, checked against
// the coalition's signing key (itself checked against the link) and the campaign it is shown on.
// Returns {ok, reason?, announcement?: {campaign_id, id, day, message: {en, es?}}}.
export function verifyAnnouncement(item, signingKey, campaignId) {
  var a;
  try {
    var body = b64uDecode(item.body);
    if (!verifySig(announcementMessage(body), item.signature, signingKey)) {
      return { ok: false, reason: 'bad_signature' };
    }
    a = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch (e) {
    return { ok: false, reason: 'malformed' };
  }
  if (!a || typeof a !== 'object' || a.campaign_id !== campaignId) return { ok: false, reason: 'campaign_mismatch' };
  if (typeof a.id !== 'string' || isNaN(dayNumber(a.day)) || !a.message ||
      typeof a.message.en !== 'string' || (a.message.es !== undefined && typeof a.message.es !== 'string')) {
    return { ok: false, reason: 'malformed' };
  }
  return { ok: true, announcement: a };
}

function isCount(n) { return Number.isSafeInteger(n) && n >= 0; }
function isIdList(list) {
  return Array.isArray(list) && list.every(function (x) { return typeof x === 'string'; });
}

// The "tally" of GET /api/v1/campaigns/{id} (protocol 1.1): shown only if the key the link named
// signed it and it names this campaign and coalition. Returns {ok, reason?, tally?}.
export function verifyTally(item, signingKey, campaignId, coalitionId) {
  var t;
  try {
    var body = b64uDecode(item.body);
    if (!verifySig(tallyMessage(body), item.signature, signingKey)) return { ok: false, reason: 'bad_signature' };
    t = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch (e) {
    return { ok: false, reason: 'malformed' };
  }
  if (!t || typeof t !== 'object' || t.campaign_id !== campaignId || t.coalition_id !== coalitionId) {
    return { ok: false, reason: 'campaign_mismatch' };
  }
  var counts = t.counts;
  if (isNaN(dayNumber(t.day)) || !isCount(t.total) || !counts || typeof counts !== 'object' ||
      Array.isArray(counts) || !Object.keys(counts).every(function (k) { return isCount(counts[k]); }) ||
      !isIdList(t.few) || !isIdList(t.reached)) {
    return { ok: false, reason: 'malformed' };
  }
  return { ok: true, tally: t };
}

// The descriptor's words in the page's language (protocol 1.1 "i18n"), else its first language.
// coalitionName comes only from the signed descriptor, never from the server's unsigned answer.
// Each is {text, lang} or null.
export function descriptorText(d, lang) {
  var first = Array.isArray(d.languages) && typeof d.languages[0] === 'string' ? d.languages[0] : 'en';
  var own = d.i18n && typeof d.i18n === 'object' && d.i18n[lang] && typeof d.i18n[lang] === 'object'
    ? d.i18n[lang] : {};
  function pick(key) {
    if (lang !== first && typeof own[key] === 'string' && own[key]) return { text: own[key], lang: lang };
    return typeof d[key] === 'string' && d[key] ? { text: d[key], lang: first } : null;
  }
  return { title: pick('title'), description: pick('description'), coalitionName: pick('coalition_name') };
}
