// Style sheets are bundled by esbuild (scripts/build-assets.ts) into the page's one .css file.
declare module '*.css';
