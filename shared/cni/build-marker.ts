// Node bundles start with these two lines (scripts/build.sh writes them), so a delegate found in
// CNI_PATH can be recognised as our own build of the same version without executing it.
import { version } from '../../package.json';

export const SUITE_VERSION: string = version;
const BUNDLE_MARKER = `// cni-ts-suite bundle v${version}\n`;
export const BUNDLE_HEADER = `#!/usr/bin/env node\n${BUNDLE_MARKER}`;
