// Loads the served browser script into this Node process exactly as a page would (a classic
// script on one global), so tests and vector generators run the bytes students get. Its page
// code starts only where there is a document, so in Node it sets the globals and stops.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = join(here, '..');
export const staticDir = join(repoRoot, 'server', 'static');

export function runScript(relativePath) {
  const file = join(staticDir, relativePath);
  vm.runInThisContext(readFileSync(file, 'utf8'), { filename: file });
}

export function loadPledgebox() {
  if (!globalThis.PledgeboxLib) runScript('js/sealing.js'); // what the page loads to seal
  if (!globalThis.PledgeboxEnvelope) runScript('js/pledgebox.js');
  return { lib: globalThis.PledgeboxLib, env: globalThis.PledgeboxEnvelope };
}
