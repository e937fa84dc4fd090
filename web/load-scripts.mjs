// Loads the served browser scripts into this Node process exactly as a page would (classic
// scripts sharing one global), so tests and vector generators run the bytes students get.
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
  if (!globalThis.PledgeboxLib) runScript('vendor/pledgebox-crypto-lib.js');
  if (!globalThis.PledgeboxEnvelope) runScript('js/envelope.js');
  return { lib: globalThis.PledgeboxLib, env: globalThis.PledgeboxEnvelope };
}
