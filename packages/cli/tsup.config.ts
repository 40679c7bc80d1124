import { packageConfig } from '../../tsup.shared.js';

// main.js is what bin/thanos-ts.js runs.
export default packageConfig({ entry: { main: 'src/main.ts' } });
