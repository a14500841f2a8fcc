#!/usr/bin/env node
// The command-line face of the engine: `attention-lens analyze --model <id|folder> --text "…" [--json]`.
require('../dist/cli.js');
