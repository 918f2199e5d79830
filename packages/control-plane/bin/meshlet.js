#!/usr/bin/env node
// The `meshlet` command. A committed file rather than dist/cli.js itself, so that `pnpm install` in a
// fresh clone (before any build) can link the workspace's bin without warning that dist/ is missing.
import '../dist/cli.js';
