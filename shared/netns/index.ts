export { NetNS, hostNetns, withNetns, sameNetns } from './netns';
export { NetnsNotFoundError, NotANetnsError } from './errors';
export { readSysctl, writeSysctl, sysctlPath } from './sysctl';
export { NSFS_MAGIC, PROC_SUPER_MAGIC, isNetnsFsType } from './fsmagic';
