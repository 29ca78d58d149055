/**
 * @middy/core 7 (and @middy/util) ship only ES modules with an `import`-only exports map, so Jest's
 * CommonJS loader cannot resolve them. The handler tests load the real package bundled into
 * CommonJS by esbuild, the same transformation `sam build` applies to the functions.
 */
import { join } from 'node:path';
import { buildSync } from 'esbuild';

/** The real @middy/core module, as CommonJS exports (`default` is middy). */
export function middyCoreAsCommonJs(): unknown {
  const [bundle] = buildSync({
    stdin: { contents: "export { default } from '@middy/core';", resolveDir: join(__dirname, '../../..'), loader: 'js' },
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node22',
    write: false,
  }).outputFiles;
  const module = { exports: {} as unknown };
  new Function('module', 'exports', 'require', bundle.text)(module, module.exports, require);
  return module.exports;
}
