// The daemon's version string: the suite's version, set at build time from package.json.
import { version } from '../package.json';

export const VERSION = `v${version}`;
