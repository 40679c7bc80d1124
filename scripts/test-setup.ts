// Runs in every test file (vitest setupFiles). Its afterAll is registered before the file's own,
// so it runs after them (vitest runs after-hooks in reverse order): the file's processes are
// stopped by then.

import { afterAll } from 'vitest';
import { removeUnremovedTempDirs } from '../packages/testing/src/tempdir.js';

// Temp dirs a test file made and did not remove (tens of MB each for generated blocks) would
// otherwise stay on disk for the rest of the run, and after it.
afterAll(() => removeUnremovedTempDirs());
