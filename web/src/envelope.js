/* Pledgebox envelope: the pure crypto recipes of protocols 1 and 1.1 (docs/protocol.md) for the
 * pledge page. Sets globalThis.PledgeboxEnvelope and uses globalThis.PledgeboxLib = {nacl, blake2b}
 * (src/crypto-lib-entry.js); web/build.mjs bundles all three into server/static/js/pledgebox.js. */
(function (root) {
  'use strict';

  var BLOCK = 1024;
  var MAX_PADDED = 8192;
  var DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
  var utf8 = new TextEncoder();

  function lib() {
    var l = root.PledgeboxLib;
    if (!l || !l.nacl || !l.blake2b) throw new Error('crypto library missing');
    return l;
  }

  function concat() {
    var parts = Array.prototype.slice.call(arguments);
    var out = new Uint8Array(parts.reduce(function (n, p) { return n + p.length; }, 0));
    parts.reduce(function (at, p) { out.set(p, at); return at + p.length; }, 0);
    return out;
  }

  function sameBytes(a, b) {
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

  function b64uEncode(bytes) {
    return btoa(latin1(bytes)).replace(/[+/=]/g, function (c) { return c === '+' ? '-' : c === '/' ? '_' : ''; });
  }

  // Strict: only the unpadded URL-safe alphabet, and only the one canonical spelling of the bytes:
  // the bits a last character carries beyond the bytes (4 after 2 characters of a group, 2 after
  // 3) must be zero, which is exactly when encoding the bytes again gives the same text.
  function b64uDecode(text) {
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

  // ISO/IEC 7816-4 padding exactly as libsodium's sodium_pad(blocksize 1024): always adds 1..1024 bytes.
  function pad(bytes) {
    var padded = new Uint8Array(bytes.length + BLOCK - (bytes.length % BLOCK));
    if (padded.length > MAX_PADDED) throw new Error('pledge too large');
    padded.set(bytes);
    padded[bytes.length] = 0x80;
    return padded;
  }

  function unpad(padded) {
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

  function sealTo(publicKey, bytes) {
    var nacl = lib().nacl;
    if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) throw new Error('bad public key');
    var eph = nacl.box.keyPair();
    var boxed = nacl.box(bytes, sealNonce(eph.publicKey, publicKey), publicKey, eph.secretKey);
    eph.secretKey.fill(0);
    return concat(eph.publicKey, boxed);
  }

  function sealOpen(publicKey, secretKey, ciphertext) {
    if (ciphertext.length < 48) throw new Error('ciphertext too short');
    var epk = ciphertext.subarray(0, 32);
    var opened = lib().nacl.box.open(ciphertext.subarray(32), sealNonce(epk, publicKey), epk, secretKey);
    if (!opened) throw new Error('ciphertext does not open');
    return opened;
  }

  function encryptionKeyMessage(coalitionId, version, notAfter, publicKey) {
    if (typeof coalitionId !== 'string') throw new Error('bad coalition_id');
    if (!Number.isSafeInteger(version) || version < 1) throw new Error('bad key version');
    if (!DATE_RE.test(notAfter)) throw new Error('bad not_after');
    if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) throw new Error('bad public key');
    return concat(utf8.encode('pledgebox/v1/encryption-key\0' + coalitionId + '\0' + version +
      '\0' + notAfter + '\0'), publicKey);
  }

  function campaignMessage(descriptorBytes) {
    return concat(utf8.encode('pledgebox/v1/campaign\0'), descriptorBytes);
  }

  function announcementMessage(bodyBytes) {
    return concat(utf8.encode('pledgebox/v1/announcement\0'), bodyBytes);
  }

  function tallyMessage(bodyBytes) {
    return concat(utf8.encode('pledgebox/v1/tally\0'), bodyBytes);
  }

  function dayNumber(date) {
    if (typeof date !== 'string' || !DATE_RE.test(date)) return NaN;
    var t = Date.UTC(+date.slice(0, 4), +date.slice(5, 7) - 1, +date.slice(8, 10));
    return new Date(t).toISOString().slice(0, 10) === date ? t / 86400000 : NaN;
  }

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
    var subtle = root.crypto && root.crypto.subtle;
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
  function preverifyCampaign(json, announcements) {
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
  function verifyEncryptionKey(ek, signingKey, coalitionId, todayUTC) {
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
  function verifyCampaignResponse(json, fragmentKeyOrNull, campaignIdAsked, todayUTC) {
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
  function verifyAnnouncement(item, signingKey, campaignId) {
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
  function verifyTally(item, signingKey, campaignId, coalitionId) {
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
  function descriptorText(d, lang) {
    var first = Array.isArray(d.languages) && typeof d.languages[0] === 'string' ? d.languages[0] : 'en';
    var own = d.i18n && typeof d.i18n === 'object' && d.i18n[lang] && typeof d.i18n[lang] === 'object'
      ? d.i18n[lang] : {};
    function pick(key) {
      if (lang !== first && typeof own[key] === 'string' && own[key]) return { text: own[key], lang: lang };
      return typeof d[key] === 'string' && d[key] ? { text: d[key], lang: first } : null;
    }
    return { title: pick('title'), description: pick('description'), coalitionName: pick('coalition_name') };
  }

  function withdrawTokenHash(token) {
    return lib().blake2b(token, { dkLen: 32 });
  }

  // nonce (protocol 1.1): 16 random bytes, so organizers' tools see a ciphertext stored twice.
  function pledgePlaintext(answers, campaignId, nonce) {
    var p = { v: 1, campaign_id: campaignId, answers: answers };
    if (nonce !== undefined) p.nonce = nonce;
    return utf8.encode(JSON.stringify(p));
  }

  function newNonce() {
    return b64uEncode(lib().nacl.randomBytes(16));
  }

  function sealPledge(answers, campaignId, publicKey, nonce) {
    return sealTo(publicKey, pad(pledgePlaintext(answers, campaignId, nonce === undefined ? newNonce() : nonce)));
  }

  root.PledgeboxEnvelope = Object.freeze({
    b64uEncode: b64uEncode, b64uDecode: b64uDecode, pad: pad, unpad: unpad,
    sealTo: sealTo, sealOpen: sealOpen, sameBytes: sameBytes, dayNumber: dayNumber,
    encryptionKeyMessage: encryptionKeyMessage, campaignMessage: campaignMessage,
    verifyEncryptionKey: verifyEncryptionKey, verifyCampaignResponse: verifyCampaignResponse,
    announcementMessage: announcementMessage, verifyAnnouncement: verifyAnnouncement,
    withdrawTokenHash: withdrawTokenHash, pledgePlaintext: pledgePlaintext, sealPledge: sealPledge,
    tallyMessage: tallyMessage, verifyTally: verifyTally, descriptorText: descriptorText,
    preverifyCampaign: preverifyCampaign,
  });
})(globalThis);
