// Build the modeller bundle: `node web/modeler/build.mjs OUTDIR` (the Makefile's vendor rule).
// bpmnlint's rules are CommonJS modules found by name at run time on the command line; in the
// browser they are imported statically, so this writes the list of them first.
import { build } from 'esbuild';
import { readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const outdir = process.argv[2] || path.join(here, '..', 'static', 'vendor', 'studio');

const rulesDir = path.dirname(require.resolve('bpmnlint/rules/label-required'));
const names = readdirSync(rulesDir).filter(f => f.endsWith('.js') && f !== 'helper.js').map(f => f.slice(0, -3));
writeFileSync(path.join(here, 'rules.generated.js'),
  '// Written by build.mjs from bpmnlint\'s rules folder; not committed.\n' +
  names.map((n, i) => `import r${i} from 'bpmnlint/rules/${n}';`).join('\n') +
  '\nimport recommended from \'bpmnlint/config/recommended\';\nexport { recommended };\nexport const rules = {\n' +
  names.map((n, i) => `  '${n}': r${i}`).join(',\n') + '\n};\n');

await build({
  entryPoints: [ path.join(here, 'modeler.js'), path.join(here, 'modeler.css') ],
  bundle: true,
  minify: true,
  format: 'iife',
  target: [ 'es2020' ],
  outdir,
  // Fonts as files beside the CSS: the Content-Security-Policy allows fonts from 'self' only.
  loader: { '.woff': 'file', '.woff2': 'file', '.ttf': 'file', '.eot': 'file', '.svg': 'file' },
  assetNames: 'fonts/[name]-[hash]',
  logLevel: 'warning',
  legalComments: 'linked'
});
