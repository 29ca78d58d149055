#!/usr/bin/env node
/** Entry point of the media-probe command: checks Node, lets Node load the TypeScript sources (tsx), runs the CLI. */
'use strict';

const [major] = process.versions.node.split('.').map(Number);
if (major < 22) {
  process.stderr.write(
    `media-probe needs Node.js 22 or newer (this is ${process.version}).\n` +
      'Run it from the repository with `npx media-probe …` after `npm ci`: the project installs Node 22 for its scripts.\n',
  );
  process.exit(2);
}

// Types are checked by `tsc` (npm run typecheck); tsx only strips them, with source maps for stack traces.
require('tsx/cjs/api').register();
require('../main').run(process.argv.slice(2));
