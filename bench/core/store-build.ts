/** Builds the store gateway benchmark dataset: npx tsx bench/core/store-build.ts [--series=100000] [--blocks=10] */
import { ensureBenchData } from './store-data.js';

const arg = (name: string, dflt: number) => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.split('=')[1]) : dflt;
};
await ensureBenchData(arg('series', 100_000), arg('blocks', 10));
