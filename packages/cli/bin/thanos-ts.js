#!/usr/bin/env node
// The `thanos-ts` executable. It lives outside dist/ so that npm can link it on install, before
// the workspace build (the root "prepare" script) has produced dist/main.js. It checks the Node
// version first: on an older Node the dependencies fail deep inside with a stack trace, so say
// in one line what is needed instead.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 19)) {
  process.stderr.write(
    `thanos-ts: Node.js ${process.version} is too old; thanos-ts needs Node.js 22.19 or newer (Node 24 LTS recommended: https://nodejs.org, or see "Contributors on an old Node" in the README)\n`,
  );
  process.exit(1);
}
await import('../dist/main.js');
