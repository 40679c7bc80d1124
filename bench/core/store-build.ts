/** Builds the store gateway benchmark dataset: npx tsx bench/core/store-build.ts [--series=100000] [--blocks=10] */

import { numberArg } from '../args.js';
import { ensureBenchData } from './store-data.js';

await ensureBenchData(numberArg('series', 100_000), numberArg('blocks', 10));
