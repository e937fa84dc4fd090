// Builds the student pages' three scripts, each one minified IIFE, and records their sha384 in
// vendor-integrity.json:
//   server/static/js/pledgebox.js  the pledge page's, carried inline: our recipes
//                                  (src/envelope.js and envelope/, globalThis.PledgeboxEnvelope), the page's code
//   server/static/js/sealing.js    the audited crypto libraries (globalThis.PledgeboxLib =
//                                  {nacl, blake2b}), which the pledge page loads (with SRI) only
//                                  to seal a pledge, or to check signatures the browser could not
//   server/static/js/withdraw.js   the withdraw page's: our recipes and the page's code only
// and the minified stylesheet, server/static/css/pledgebox.css from src/pledgebox.css.
//
//   node build.mjs                 write the committed bundles and vendor-integrity.json
//   node build.mjs --out-dir DIR   write the bundles to DIR only (used to check reproducibility)
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const BUNDLES = {
  'server/static/js/pledgebox.js': 'pledgebox-entry.js',
  'server/static/js/sealing.js': 'crypto-lib-entry.js',
  'server/static/js/withdraw.js': 'withdraw-entry.js',
};

function versionOf(pkg) {
  return JSON.parse(readFileSync(join(here, 'node_modules', pkg, 'package.json'), 'utf8')).version;
}

const args = process.argv.slice(2);
const outDirIndex = args.indexOf('--out-dir');
const integrity = {};

for (const [bundle, entry] of Object.entries(BUNDLES)) {
  const outFile =
    outDirIndex >= 0 ? resolve(args[outDirIndex + 1], basename(bundle)) : join(here, '..', bundle);
  const result = await build({
    entryPoints: [join(here, 'src', entry)],
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
        `/*! Pledgebox (AGPL-3.0-or-later) with tweetnacl ${versionOf('tweetnacl')} (public ` +
        `domain) and @noble/hashes ${versionOf('@noble/hashes')} (MIT, (c) 2022 Paul Miller); ` +
        `built by web/build.mjs, esbuild ${versionOf('esbuild')} */`,
    },
    logLevel: 'warning',
  });
  const bytes = result.outputFiles[0].contents;
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, bytes);
  integrity[bundle] = 'sha384-' + createHash('sha384').update(bytes).digest('base64');
  console.log(`${outFile}: ${bytes.length} bytes, ${integrity[bundle]}`);
}
const CSS = 'server/static/css/pledgebox.css';
const css = await build({
  entryPoints: [join(here, 'src', 'pledgebox.css')],
  bundle: true,
  minify: true,
  target: ['chrome100', 'safari15', 'firefox100'],
  charset: 'utf8',
  write: false,
  banner: { css: '/* Pledgebox. Built from web/src/pledgebox.css by web/build.mjs. */' },
  logLevel: 'warning',
});
const cssOut = outDirIndex >= 0 ? resolve(args[outDirIndex + 1], basename(CSS)) : join(here, '..', CSS);
mkdirSync(dirname(cssOut), { recursive: true });
writeFileSync(cssOut, css.outputFiles[0].contents);
console.log(`${cssOut}: ${css.outputFiles[0].contents.length} bytes`);

if (outDirIndex < 0) {
  writeFileSync(join(here, 'vendor-integrity.json'), JSON.stringify(integrity, null, 2) + '\n');
}
