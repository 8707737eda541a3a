import { SwitchyardError } from '../errors.js';

/**
 * Misuse of the handshake API: a URL, option or header given by the caller that cannot be put
 * on the wire. (A peer's bad handshake is never thrown; it is a rejection result.)
 */
export class HandshakeError extends SwitchyardError {}
