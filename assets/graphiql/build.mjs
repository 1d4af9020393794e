// Bundles console.jsx (GraphiQL, React, graphql-js) into dist/console.js and dist/console.css,
// minified, and writes dist/THIRD-PARTY-LICENSES.txt with the licence of every npm package
// that went into the bundle. Run `npm ci && npm run build` here after changing a version in
// package.json; the gateway compiles dist/ in (src/http/console.rs).
import * as esbuild from 'esbuild';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const result = await esbuild.build({
  entryPoints: ['console.jsx'],
  bundle: true,
  minify: true,
  format: 'iife',
  target: 'es2020',
  define: { 'process.env.NODE_ENV': '"production"' },
  loader: { '.woff': 'dataurl', '.woff2': 'dataurl', '.png': 'dataurl', '.svg': 'dataurl' },
  legalComments: 'none',
  metafile: true,
  outdir: 'dist',
  entryNames: 'console',
  logLevel: 'info',
});

// Every package some input came from: node_modules/<name>/ or node_modules/@scope/<name>/.
const packages = new Set();
for (const input of Object.keys(result.metafile.inputs)) {
  const m = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//);
  if (m) packages.add(m[1]);
}

const sections = [...packages].sort().map((name) => {
  const dir = join('node_modules', name);
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const file = readdirSync(dir).find((f) => /^(licen[cs]e|copying)(\.|$)/i.test(f));
  const repository = pkg.repository && (pkg.repository.url || pkg.repository);
  const text = file
    ? readFileSync(join(dir, file), 'utf8').trim()
    : `The package ships no licence file; its package.json says "${pkg.license}" ` +
      `(source: ${repository || 'not given'}).`;
  return `${name}@${pkg.version} (${pkg.license})\n${'-'.repeat(72)}\n${text}\n`;
});
writeFileSync(
  join('dist', 'THIRD-PARTY-LICENSES.txt'),
  'The npm packages bundled into console.js and console.css, served by forloeb-gateway at\n' +
    '/graphiql, with their licences.\n\n' +
    sections.join('\n'),
);
console.log(`${packages.size} packages bundled; licences in dist/THIRD-PARTY-LICENSES.txt`);
