/* The audited crypto libraries, globalThis.PledgeboxLib = {nacl, blake2b}, which
 * src/crypto-lib-entry.js sets from server/static/js/sealing.js. Looked up at each use, not at
 * load: the pledge page loads that file only when it needs it (page/sealing.js: loadSealing),
 * and a recipe called without it throws rather than sending anything. */
export function lib() {
  var l = globalThis.PledgeboxLib;
  if (!l || !l.nacl || !l.blake2b) throw new Error('crypto library missing');
  return l;
}
