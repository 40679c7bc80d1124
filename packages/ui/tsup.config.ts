import { packageConfig } from '../../tsup.shared.js';

// The node side only; the browser assets are built afterwards by scripts/build-assets.ts into
// dist/assets (tsup's clean would otherwise remove them).
export default packageConfig();
