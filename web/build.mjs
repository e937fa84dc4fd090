// Builds server/static/js/pledgebox.js: one minified IIFE holding the audited crypto libraries
// (globalThis.PledgeboxLib = {nacl, blake2b}), our recipes (src/envelope.js, globalThis.
// PledgeboxEnvelope) and the student pages' code (src/pledge-page.js), and records its sha384 in
// vendor-integrity.json.
//
//   node build.mjs                 write the committed bundle and vendor-integrity.json
//   node build.mjs --out-dir DIR   write the bundle to DIR only (used to check reproducibility)
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const BUNDLE = 'server/static/js/pledgebox.js';

function versionOf(pkg) {
  return JSON.parse(readFileSync(join(here, 'node_modules', pkg, 'package.json'), 'utf8')).version;
}

const args = process.argv.slice(2);
const outDirIndex = args.indexOf('--out-dir');
const outFile =
  outDirIndex >= 0
    ? resolve(args[outDirIndex + 1], 'pledgebox.js')
    : join(here, '..', BUNDLE);

const result = await build({
  entryPoints: [join(here, 'src', 'pledgebox-entry.js')],
  bundle: true,
  minify: true,
  format: 'iife',
  platform: 'browser', // honours tweetnacl's "browser": {"crypto": false}
  target: ['es2020'],
  legalComments: 'eof',
  charset: 'ascii',
  write: false,
  banner: {
    js:
      `/*! Pledgebox student pages. Contains tweetnacl ${versionOf('tweetnacl')} (public domain), ` +
      `@noble/hashes ${versionOf('@noble/hashes')} (MIT License, Copyright (c) 2022 Paul Miller, ` +
      `https://paulmillr.com) and Pledgebox's own web/src (AGPL-3.0-or-later). Built by ` +
      `web/build.mjs with esbuild ${versionOf('esbuild')}; see web/README.md. */`,
  },
  logLevel: 'warning',
});

const bytes = result.outputFiles[0].contents;
mkdirSync(dirname(outFile), { recursive: true });
writeFileSync(outFile, bytes);
const sri = 'sha384-' + createHash('sha384').update(bytes).digest('base64');
if (outDirIndex < 0) {
  writeFileSync(
    join(here, 'vendor-integrity.json'),
    JSON.stringify({ [BUNDLE]: sri }, null, 2) + '\n',
  );
}
console.log(`${outFile}: ${bytes.length} bytes, ${sri}`);
