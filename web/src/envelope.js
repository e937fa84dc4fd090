/* Pledgebox envelope: the pure crypto recipes of protocols 1 and 1.1 (docs/protocol.md) for the
 * student pages, gathered as globalThis.PledgeboxEnvelope (the page's code, web/load-scripts.mjs
 * and the tests use that one name). They live in envelope/: bytes.js (bytes, base64url),
 * sealed-pledge.js (padding, the sealed box, the pledge's plaintext), statements.js (the bytes
 * each signature covers, days) and verification.js (checking what the organizers signed); the
 * libraries they use are globalThis.PledgeboxLib = {nacl, blake2b} (envelope/crypto-lib.js),
 * loaded only when needed. web/build.mjs bundles these into the pages' scripts. */
import { b64uDecode, b64uEncode, sameBytes } from './envelope/bytes.js';
import { pad, pledgePlaintext, sealOpen, sealPledge, sealTo, unpad, withdrawTokenHash }
  from './envelope/sealed-pledge.js';
import { announcementMessage, campaignMessage, dayNumber, encryptionKeyMessage, tallyMessage }
  from './envelope/statements.js';
import { descriptorText, preverifyCampaign, verifyAnnouncement, verifyCampaignResponse, verifyEncryptionKey,
  verifyTally } from './envelope/verification.js';

globalThis.PledgeboxEnvelope = Object.freeze({
  b64uEncode: b64uEncode, b64uDecode: b64uDecode, pad: pad, unpad: unpad,
  sealTo: sealTo, sealOpen: sealOpen, sameBytes: sameBytes, dayNumber: dayNumber,
  encryptionKeyMessage: encryptionKeyMessage, campaignMessage: campaignMessage,
  verifyEncryptionKey: verifyEncryptionKey, verifyCampaignResponse: verifyCampaignResponse,
  announcementMessage: announcementMessage, verifyAnnouncement: verifyAnnouncement,
  withdrawTokenHash: withdrawTokenHash, pledgePlaintext: pledgePlaintext, sealPledge: sealPledge,
  tallyMessage: tallyMessage, verifyTally: verifyTally, descriptorText: descriptorText,
  preverifyCampaign: preverifyCampaign,
});
