// Command-line flags shared by the echo server on every runtime (Node, Deno, Bun).
// Runtime-neutral: no node:* imports, so deno.ts and bun.ts can use it too.

/**
 * @typedef {object} EchoArgs
 * @property {number} port
 * @property {string} host
 * @property {boolean} deflate
 * @property {number | undefined} maxPayload   bytes; undefined = the library's default
 * @property {'node' | 'deno' | 'bun'} runtime
 * @property {boolean} client                  fuzzing-client mode
 * @property {string | undefined} url
 * @property {string} agent
 */

export const USAGE = `usage: pnpm run echo --port PORT [--deflate] [--max-payload BYTES] [--runtime node|deno|bun]
       pnpm run echo --client --url ws://127.0.0.1:9001 [--agent NAME] [--deflate] [--max-payload BYTES] [--runtime …]`;

/** @param {readonly string[]} argv @returns {EchoArgs} */
export function parseEchoArgs(argv) {
  /** @type {EchoArgs} */
  const args = { port: 9001, host: '127.0.0.1', deflate: false, maxPayload: undefined, runtime: 'node', client: false, url: undefined, agent: 'switchyard' };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
      return v;
    };
    switch (flag) {
      case '--': break;
      case '--port': args.port = integer(flag, value(), 0, 65535); break;
      case '--host': args.host = value(); break;
      case '--deflate': args.deflate = true; break;
      case '--max-payload': args.maxPayload = integer(flag, value(), 1, 2 ** 31); break;
      case '--runtime': {
        const v = value();
        if (v !== 'node' && v !== 'deno' && v !== 'bun') throw new Error(`--runtime must be node, deno or bun\n${USAGE}`);
        args.runtime = v;
        break;
      }
      case '--client': args.client = true; break;
      case '--url': args.url = value(); break;
      case '--agent': args.agent = value(); break;
      case '--help': case '-h': throw new Error(USAGE);
      default: throw new Error(`unknown flag ${arg}\n${USAGE}`);
    }
  }
  if (args.client && args.url === undefined) throw new Error(`--client needs --url\n${USAGE}`);
  return args;
}

/**
 * The options of the fuzzing client: the message limits of `--max-payload`, and a
 * permessage-deflate offer with `--deflate`.
 * @param {EchoArgs} args
 */
export function clientOptions(args) {
  return {
    ...(args.maxPayload === undefined ? {} : { maxPayload: args.maxPayload, maxFragments: fragmentLimitFor(args.maxPayload) }),
    ...(args.deflate ? { perMessageDeflate: true } : {}),
  };
}

/** The fragment limit that goes with a message limit: a message of maxPayload bytes may come in 64-byte fragments. */
export function fragmentLimitFor(maxPayload) {
  return Math.max(1024, Math.ceil(maxPayload / 64));
}

function integer(flag, text, min, max) {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${flag} must be an integer in ${min}..${max}, got ${text}`);
  return n;
}
