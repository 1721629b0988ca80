#!/usr/bin/env node
'use strict';
// The package's CLI (`npx marie …`). Built by `npm ci` (prepare) into dist/.
require('../dist/src/cli.js').run();
