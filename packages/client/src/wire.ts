/** The envelope the client speaks, from `@switchyard/wire` (kept here so `@switchyard/client/wire` imports keep working). */
export * from '@switchyard/wire';
