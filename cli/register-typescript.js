/** Lets `require` load the project's TypeScript sources by transpiling them with esbuild (types are checked by `tsc`, not here). */
'use strict';
const { readFileSync } = require('node:fs');
const esbuild = require('esbuild');

process.setSourceMapsEnabled(true);

require.extensions['.ts'] = function loadTypeScript(module, filename) {
  const { code } = esbuild.transformSync(readFileSync(filename, 'utf8'), {
    loader: 'ts',
    format: 'cjs',
    target: 'node22',
    sourcefile: filename,
    sourcemap: 'inline',
  });
  module._compile(code, filename);
};
