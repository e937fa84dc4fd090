// The crypto libraries, built into server/static/js/sealing.js: the only third-party code the
// pledge page runs, loaded by it (with SRI) only to seal a pledge or where the browser has no
// Ed25519 of its own (page/sealing.js: loadSealing). tweetnacl gives X25519/XSalsa20-Poly1305 (crypto_box) and Ed25519;
// @noble/hashes gives the BLAKE2b that libsodium's sealed box uses for its nonce.
// tweetnacl's compact build (nacl.js) rather than nacl-fast.js: 4 KB less on a slow phone's first
// visit. Its slowness matters little: the page first has the browser's own Ed25519 (WebCrypto)
// check the signatures (envelope/verification.js: preverifyCampaign), tweetnacl checks only
// what it could not (older phones), and sealing happens once, on send.
import nacl from 'tweetnacl/nacl.js';
import { blake2b } from '@noble/hashes/blake2.js';

// tweetnacl finds the browser's CSPRNG through `self`, which Node lacks; wire it the same
// way everywhere so tests in Node exercise the same path as phones.
const webCrypto = globalThis.crypto;
if (webCrypto && typeof webCrypto.getRandomValues === 'function') {
  nacl.setPRNG((out, n) => {
    const buf = new Uint8Array(n);
    for (let i = 0; i < n; i += 65536) {
      webCrypto.getRandomValues(buf.subarray(i, Math.min(n, i + 65536)));
    }
    out.set(buf);
    buf.fill(0);
  });
}

globalThis.PledgeboxLib = Object.freeze({ nacl, blake2b });
