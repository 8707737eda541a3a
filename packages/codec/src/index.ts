export * from './types.js';
export * from './handshake/index.js';
export * from './extensions/permessage-deflate.js';
