// The empty runtime for RSS comparisons: compiled by bench/flanneld-scale.sh with the same
// `bun build --compile --minify` flags as the flanneld executable, it only stays alive.
setInterval(() => undefined, 60_000);
process.on('SIGTERM', () => process.exit(0));
