// Typed failures of opening a network namespace path. DEL treats NetnsNotFoundError as
// "the container is already gone" (the reference's NSPathNotExistErr).

export class NetnsNotFoundError extends Error {
  readonly code = 'ENOENT';
  constructor(readonly path: string) {
    super(`failed to Statfs "${path}": no such file or directory`);
    this.name = 'NetnsNotFoundError';
  }
}

export class NotANetnsError extends Error {
  readonly code = 'ENOTNETNS';
  constructor(readonly path: string, detail: string) {
    super(`${detail}`);
    this.name = 'NotANetnsError';
  }
}
