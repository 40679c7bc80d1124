#!/usr/bin/env node
// The `thanos-ts` executable. It lives outside dist/ so that npm can link it on install, before
// the workspace build (the root "prepare" script) has produced dist/main.js.
import '../dist/main.js';
