import { CloseCode, MAX_CLOSE_REASON_BYTES, decodeClosePayload, encodeClosePayload } from './close.js';
import { ConnectionClosedError, InvalidArgumentError, protocolViolation } from './errors.js';
import type { DeflateParams } from './extensions/permessage-deflate.js';
import {
  DecodeStatus,
  FrameDecoder,
  allocateZeroed,
  MAX_CONTROL_PAYLOAD,
  Opcode,
  frameHeaderLength,
  writeHeaderBytes,
} from './frame.js';
import { MaskKeyPool } from './mask-keys.js';
import { copyMasked } from './mask.js';
import { MessageAssembler, concatBytes, fragmentPayload } from './message.js';
import { SlabRegion } from './output-slab.js';
import type {
  CloseInitiator,
  Compressor,
  ConnectionEvent,
  ConnectionState,
  PreparedMessage,
  ProtocolViolation,
  Role,
  SendOptions,
  TransportAction,
} from './types.js';
import { Utf8Validator } from './utf8.js';

export interface PerMessageDeflateOptions {
  /** The negotiated parameters (from the handshake). */
  readonly params: DeflateParams;
  /** The adapter's compressor, built from `params` and the role. */
  readonly compressor: Compressor;
  /** Messages smaller than this many bytes are sent uncompressed (default 1024). */
  readonly threshold?: number;
}

export interface ConnectionOptions {
  readonly role: Role;
  /** Bytes per message, counted after inflation; default 64 MiB; exceeding it closes with 1009. 0: no limit. */
  readonly maxMessageSize?: number;
  /** Frames per message; default 1,000,000; exceeding it closes with 1009. 0: no limit. */
  readonly maxFragments?: number;
  readonly perMessageDeflate?: PerMessageDeflateOptions;
  /** Mask-key source (client role); default `crypto.getRandomValues`. */
  readonly randomBytes?: (target: Uint8Array) => void;
  /** Called when asynchronous compressor work has produced events or output. */
  readonly onWakeup?: () => void;
  /**
   * Allocates the buffers the codec fills completely from several pieces: a payload that
   * arrives split across `receive` calls, a fragmented message joined into one, and (client
   * role) a masked frame too large for the shared output slab. Default: `new Uint8Array(size)`,
   * which zero-fills first. The buffer must be exactly `size` bytes and exclusively this
   * connection's (no other user of its memory); its previous contents never show, because every
   * byte is overwritten before use — so a runtime's uninitialised (non-zeroed) allocation is
   * safe here and saves the zero-filling.
   */
  readonly allocate?: (size: number) => Uint8Array;
}

const DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024 * 1024;
const DEFAULT_MAX_FRAGMENTS = 1_000_000;
const DEFAULT_DEFLATE_THRESHOLD = 1024;
/** RFC 7692 §7.2.2: the receiver appends the empty stored block that the sender removed. */
const DEFLATE_TAIL = new Uint8Array([0x00, 0x00, 0xff, 0xff]);
/**
 * Payloads up to this size travel in the same chunk as their header: one small copy is cheaper
 * than a second write. Larger payloads stay separate, ready for writev, never copied (server).
 */
const COALESCE_LIMIT = 1024;

const EMPTY = new Uint8Array(0);
const textEncoder = new TextEncoder();
/**
 * One fatal decoder for every connection: called without `stream: true` it keeps no state
 * between calls (each call decodes, and validates, one whole message), so sharing it is safe and
 * saves a decoder per connection.
 */
const textDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
/** A client's short text, encoded here and masked on its way into the slab; used synchronously. */
const textScratch = new Uint8Array(COALESCE_LIMIT);

/** A message waiting behind asynchronous compression, or frames queued behind such a message. */
type PendingSend =
  | { readonly kind: 'frames'; readonly chunks: Uint8Array[]; readonly bytes: number }
  | {
      readonly kind: 'deflate';
      readonly opcode: number;
      readonly data: Uint8Array;
      readonly fragmentSize: number;
      started: boolean;
      result: Uint8Array | undefined;
    };

/**
 * The queues of a connection with nothing waiting. They fill only behind compression, so most
 * connections share these instead of holding empty arrays each; they are frozen so that a push
 * into them fails loudly instead of leaking between connections.
 */
const NO_PENDING: PendingSend[] = Object.freeze([]) as readonly PendingSend[] as PendingSend[];
const NO_BACKLOG: Uint8Array[] = Object.freeze([]) as readonly Uint8Array[] as Uint8Array[];

function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

function nonNegativeInteger(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 0) throw new InvalidArgumentError(`${name} must be a non-negative integer, got ${value}`);
  return value;
}

/** A diagnostic message as a close reason: it must fit in 123 bytes of UTF-8, or it is left out. */
function closeReason(message: string): string {
  return textEncoder.encode(message).length <= MAX_CLOSE_REASON_BYTES ? message : '';
}

function defaultRandomBytes(target: Uint8Array): void {
  crypto.getRandomValues(target);
}

function controlPayload(data: Uint8Array | string | undefined, what: string): Uint8Array {
  const payload = data === undefined ? EMPTY : typeof data === 'string' ? textEncoder.encode(data) : data;
  if (payload.length > MAX_CONTROL_PAYLOAD) {
    throw new InvalidArgumentError(`${what} payload is ${payload.length} bytes; control frames carry at most 125`);
  }
  return payload;
}


/**
 * The sans-I/O WebSocket engine for one connection, after the handshake. Bytes from the
 * transport go into `receive`; events come out of `takeEvents`; frames to write come out of
 * `takeOutput`; `transportAction` says what to do with the transport. It owns no socket and no
 * timer, so it runs unchanged in every runtime.
 */
export class Connection {
  readonly role: Role;

  private currentState: ConnectionState = 'open';
  private action: TransportAction = 'none';
  private events: ConnectionEvent[] = [];
  private output: Uint8Array[] = [];
  private outputBytes = 0;
  /** This connection's small frames in the shared output slab, not yet in `output`. */
  private readonly slab = new SlabRegion();
  /** Sends held back, in order, while a message ahead of them is being compressed. */
  private pending: PendingSend[] = NO_PENDING;
  private pendingBytes = 0;

  private readonly decoder: FrameDecoder;
  private readonly assembler: MessageAssembler;
  /** Checks uncompressed text as it arrives, across fragments and chunks; created on first use. */
  private validator: Utf8Validator | undefined;
  /** Bytes of the text frame being gathered that the validator has already checked. */
  private textChecked = 0;
  private readonly maxMessageSize: number;
  private readonly allocate: (size: number) => Uint8Array;

  private readonly deflate: PerMessageDeflateOptions | undefined;
  private readonly deflateThreshold: number;
  private readonly onWakeup: (() => void) | undefined;
  /** A client's mask keys; a server masks nothing. */
  private readonly maskKeys: MaskKeyPool | undefined;

  private closeSent = false;
  /** Our close frame waits in `pending` (behind a message being compressed). */
  private closeFramePending = false;
  /** No more frames are read: the peer's close arrived or the connection failed. */
  private readingStopped = false;
  /** An inflation is in flight: later bytes wait in `backlog` so events stay in order. */
  private inflating = false;
  private backlog: Uint8Array[] = NO_BACKLOG;
  private backlogBytes = 0;
  private endPending = false;
  private localCloseStarted = false;
  /**
   * A violation met while events that precede it were still waiting to be taken. It takes effect
   * only once the adapter has taken them, so that what the application sends in reply to them is
   * queued before the close frame (see `failurePending`).
   */
  private deferredFailure: ProtocolViolation | undefined;

  constructor(options: ConnectionOptions) {
    if (options.role !== 'client' && options.role !== 'server') {
      throw new InvalidArgumentError(`role must be 'client' or 'server', got ${String(options.role)}`);
    }
    this.role = options.role;
    const maxMessageSize = nonNegativeInteger(options.maxMessageSize, DEFAULT_MAX_MESSAGE_SIZE, 'maxMessageSize');
    const maxFragments = nonNegativeInteger(options.maxFragments, DEFAULT_MAX_FRAGMENTS, 'maxFragments');
    this.maxMessageSize = maxMessageSize === 0 ? Number.MAX_SAFE_INTEGER : maxMessageSize;
    this.assembler = new MessageAssembler({
      maxMessageSize: this.maxMessageSize,
      maxFragments,
    });
    this.deflate = options.perMessageDeflate;
    this.deflateThreshold = nonNegativeInteger(options.perMessageDeflate?.threshold, DEFAULT_DEFLATE_THRESHOLD, 'perMessageDeflate.threshold');
    this.allocate = options.allocate ?? allocateZeroed;
    this.decoder = new FrameDecoder({
      expectMasked: this.role === 'server',
      allowRsv1: this.deflate !== undefined,
      maxPayload: this.maxMessageSize,
      allocate: this.allocate,
    });
    this.onWakeup = options.onWakeup;
    this.maskKeys = options.role === 'client' ? new MaskKeyPool(options.randomBytes ?? defaultRandomBytes) : undefined;
  }

  get state(): ConnectionState {
    return this.currentState;
  }

  /**
   * What to do with the transport now. Ending it waits until every queued frame is in the
   * output (a message still being compressed holds it back), so it is safe to act on this after
   * writing `takeOutput()`.
   */
  get transportAction(): TransportAction {
    if (this.pending.length > 0 && (this.action === 'end-transport' || this.action === 'await-transport-end')) {
      return 'none';
    }
    return this.action;
  }

  /** Bytes queued for the transport and not taken yet, including messages still being compressed. */
  get bufferedOutput(): number {
    return this.outputBytes + this.pendingBytes;
  }

  /**
   * Received bytes waiting, unread, behind a message being inflated asynchronously (those of
   * the chunk being decoded and those received since); 0 when no inflation is in flight, so a
   * partial frame never counts. The adapters pause reading while this is above
   * `READ_PAUSE_INFLATE_BYTES` and resume when the inflation has caught up (`onWakeup`).
   */
  get bufferedInput(): number {
    return this.inflating ? this.backlogBytes + this.decoder.pendingBytes : 0;
  }

  /**
   * True when the peer broke the protocol after events the adapter has not finished with: the
   * events before the violation are delivered and the connection stays open for the replies to
   * them; the failure (close event, close frame) is applied by the next `takeEvents`, `receive`
   * or `receiveEnd`. An adapter dispatches what `takeEvents` returned, then calls it again while
   * this is true.
   */
  get failurePending(): boolean {
    return this.deferredFailure !== undefined;
  }

  // ---------------------------------------------------------------------------------------------
  // Input

  /**
   * Feeds bytes from the transport. Never throws because of their content. Takes ownership of
   * `chunk`: masked payloads are unmasked in place and events may hold views of it.
   */
  receive(chunk: Uint8Array): void {
    this.applyDeferredFailure();
    if (this.readingStopped || chunk.length === 0) return;
    if (this.inflating) {
      if (this.backlog === NO_BACKLOG) this.backlog = [];
      this.backlog.push(chunk);
      this.backlogBytes += chunk.length;
      return;
    }
    this.decoder.push(chunk);
    this.readFrames();
  }

  /** The transport ended (end of stream or error). */
  receiveEnd(): void {
    if (this.inflating) {
      this.endPending = true;
      return;
    }
    this.applyDeferredFailure();
    this.readingStopped = true;
    this.dropBacklog();
    if (this.currentState === 'closed') {
      this.action = 'end-transport';
      return;
    }
    this.dropPending();
    this.finishClose({
      type: 'close',
      code: CloseCode.Abnormal,
      reason: '',
      wasClean: false,
      initiator: this.localCloseStarted ? 'local' : 'failure',
    });
    this.action = 'end-transport';
  }

  /**
   * The events so far, in order. When a violation follows them, the close event it causes is not
   * among them: it comes from the next call (see `failurePending`).
   */
  takeEvents(): ConnectionEvent[] {
    let events = this.events;
    if (events.length === 0) {
      this.applyDeferredFailure();
      events = this.events;
      if (events.length === 0) return [];
    }
    this.events = [];
    return events;
  }

  takeOutput(): Uint8Array[] {
    this.slab.seal(this.output);
    const output = this.output;
    if (output.length === 0) return [];
    this.output = [];
    this.outputBytes = 0;
    return output;
  }

  private readFrames(): void {
    const decoder = this.decoder;
    for (;;) {
      const status = decoder.next();
      if (status === DecodeStatus.Frame) {
        if (decoder.opcode >= 8) this.onControlFrame(decoder.opcode, decoder.payload);
        else this.onDataFrame(decoder.opcode, decoder.fin, decoder.rsv1, decoder.payload);
        if (this.readingStopped || this.inflating) return;
      } else if (status === DecodeStatus.NeedMore) {
        if (decoder.gatheredBytes > this.textChecked && !this.checkArrivingText()) return;
        if (this.backlog.length === 0) return;
        const next = this.backlog.shift()!;
        this.backlogBytes -= next.length;
        decoder.push(next);
      } else {
        this.fail(decoder.violation!);
        return;
      }
    }
  }

  /**
   * Validates the bytes of an uncompressed text frame that arrived since the last check, before
   * the frame is whole: invalid UTF-8 fails the connection right after the chunk that carries it
   * (RFC 6455 §8.1). False when it failed.
   */
  private checkArrivingText(): boolean {
    const decoder = this.decoder;
    const assembler = this.assembler;
    let startsMessage: boolean;
    if (decoder.opcode === Opcode.Text && !decoder.rsv1 && !assembler.inProgress) startsMessage = true;
    else if (decoder.opcode === Opcode.Continuation && assembler.opcode === Opcode.Text && !assembler.compressed) startsMessage = false;
    else return true;
    const validator = (this.validator ??= new Utf8Validator());
    if (startsMessage && this.textChecked === 0) validator.reset();
    const end = decoder.gatheredBytes;
    if (!validator.push(decoder.gatheredPayload!, this.textChecked, end)) {
      this.fail(protocolViolation('invalid-utf8'));
      return false;
    }
    this.textChecked = end;
    return true;
  }

  private onDataFrame(opcode: number, fin: boolean, compressed: boolean, payload: Uint8Array): void {
    const assembler = this.assembler;
    // The start of this frame's payload that `checkArrivingText` validated while it arrived.
    const checked = this.textChecked;
    this.textChecked = 0;
    if (opcode === Opcode.Continuation) {
      if (!assembler.inProgress) return this.fail(protocolViolation('unexpected-continuation'));
      const violation = assembler.add(payload);
      if (violation !== undefined) return this.fail(violation);
      if (assembler.opcode === Opcode.Text && !assembler.compressed && !this.validator!.push(payload, checked)) {
        return this.fail(protocolViolation('invalid-utf8'));
      }
      if (fin) this.finishMessage();
      else this.setDecoderLimit();
      return;
    }
    if (assembler.inProgress) return this.fail(protocolViolation('expected-continuation'));
    if (fin) {
      if (compressed) this.inflate(opcode, [payload]);
      else if (checked > 0 && !(this.validator!.push(payload, checked) && this.validator!.finish())) this.fail(protocolViolation('invalid-utf8'));
      else this.deliver(opcode, payload);
      return;
    }
    const violation = assembler.start(opcode, compressed, payload);
    if (violation !== undefined) return this.fail(violation);
    if (opcode === Opcode.Text && !compressed) {
      const validator = (this.validator ??= new Utf8Validator());
      if (checked === 0) validator.reset();
      if (!validator.push(payload, checked)) return this.fail(protocolViolation('invalid-utf8'));
    }
    this.setDecoderLimit();
  }

  /** The next fragment may carry what the message has left; a 1009 names the message's size. */
  private setDecoderLimit(): void {
    this.decoder.maxPayload = this.assembler.remaining;
    this.decoder.messageBytes = this.assembler.size;
  }

  private finishMessage(): void {
    const { opcode, compressed, size } = this.assembler;
    const parts = this.assembler.finish();
    this.decoder.maxPayload = this.maxMessageSize;
    this.decoder.messageBytes = 0;
    if (compressed) return this.inflate(opcode, parts);
    if (opcode === Opcode.Text && !this.validator!.finish()) {
      return this.fail(protocolViolation('invalid-utf8', 'text ends inside a UTF-8 sequence'));
    }
    this.deliver(opcode, concatBytes(parts, size, this.allocate));
  }

  private deliver(opcode: number, payload: Uint8Array): void {
    if (opcode === Opcode.Binary) {
      this.events.push({ type: 'binary', data: payload });
      return;
    }
    // One fatal decoder validates and decodes in a single native pass: faster than validating
    // in JavaScript first, even for short ASCII text.
    let text: string;
    try {
      text = textDecoder.decode(payload);
    } catch {
      return this.fail(protocolViolation('invalid-utf8'));
    }
    this.events.push({ type: 'text', data: text });
  }

  private inflate(opcode: number, parts: Uint8Array[]): void {
    const compressor = this.deflate!.compressor;
    parts.push(DEFLATE_TAIL);
    let result: Uint8Array | null | PromiseLike<Uint8Array | null>;
    try {
      result = compressor.decompress(parts, this.maxMessageSize);
    } catch {
      return this.fail(protocolViolation('inflate-failed'));
    }
    if (!isThenable(result)) {
      this.deliverInflated(opcode, result);
      return;
    }
    this.inflating = true;
    result.then(
      (data) => this.afterInflate(opcode, data),
      () => this.afterInflate(opcode, undefined),
    );
  }

  private afterInflate(opcode: number, data: Uint8Array | null | undefined): void {
    this.inflating = false;
    if (!this.readingStopped) {
      if (data === undefined) this.fail(protocolViolation('inflate-failed'));
      else this.deliverInflated(opcode, data);
      if (!this.readingStopped && !this.inflating) {
        if (this.decoder.pendingBytes > 0 || this.backlog.length > 0) this.readFrames();
      }
    }
    if (this.endPending && !this.inflating) {
      this.endPending = false;
      this.receiveEnd();
    }
    this.wake();
  }

  private deliverInflated(opcode: number, data: Uint8Array | null): void {
    if (data === null) {
      return this.fail(protocolViolation('message-too-big', `inflated message exceeds ${this.maxMessageSize} bytes`));
    }
    if (data.length > this.maxMessageSize) {
      return this.fail(protocolViolation('message-too-big', `inflated message exceeds ${this.maxMessageSize} bytes`));
    }
    this.deliver(opcode, data);
  }

  private onControlFrame(opcode: number, payload: Uint8Array): void {
    if (opcode === Opcode.Ping) {
      this.events.push({ type: 'ping', data: payload });
      // After our close frame nothing more may be sent, pongs included.
      if (!this.closeSent) this.queueFrame(Opcode.Pong, true, false, payload);
      return;
    }
    if (opcode === Opcode.Pong) {
      this.events.push({ type: 'pong', data: payload });
      return;
    }
    const decoded = decodeClosePayload(payload);
    if (!decoded.ok) return this.fail(decoded.violation);
    this.readingStopped = true;
    this.dropBacklog();
    let initiator: CloseInitiator = 'local';
    if (!this.closeSent) {
      // Echo the status code (RFC 6455 §5.5.1); an empty close is answered with an empty one.
      initiator = 'remote';
      const reply = decoded.code === CloseCode.NoStatusReceived ? EMPTY : encodeClosePayload(decoded.code);
      this.closeSent = true;
      this.queueFrame(Opcode.Close, true, false, reply);
    }
    this.finishClose({ type: 'close', code: decoded.code, reason: decoded.reason, wasClean: true, initiator });
    // RFC 6455 §7.1.1: the server ends TCP first; the client waits for it.
    this.action = this.role === 'server' ? 'end-transport' : 'await-transport-end';
  }

  /**
   * Fails the connection (RFC 6455 §7.1.7): a close frame with the violation's code, then end the
   * transport. Reading stops at once; while events before the violation wait to be taken, the
   * rest is deferred until they are (`applyDeferredFailure`), so that the application's replies
   * to them, and messages it sent before, leave ahead of the close frame.
   */
  private fail(violation: ProtocolViolation): void {
    this.readingStopped = true;
    this.dropBacklog();
    if (this.events.length > 0 && this.currentState !== 'closed') {
      this.deferredFailure ??= violation;
      return;
    }
    this.applyFailure(violation);
  }

  private applyDeferredFailure(): void {
    const violation = this.deferredFailure;
    if (violation === undefined) return;
    this.deferredFailure = undefined;
    this.applyFailure(violation);
  }

  private applyFailure(violation: ProtocolViolation): void {
    // What is still being compressed was sent before the failure was seen: it goes out first.
    if (!this.closeSent) {
      this.closeSent = true;
      this.queueFrame(Opcode.Close, true, false, encodeClosePayload(violation.closeCode, closeReason(violation.message)));
    }
    this.finishClose({
      type: 'close',
      code: violation.closeCode,
      reason: violation.message,
      wasClean: false,
      initiator: 'failure',
      error: violation,
    });
    this.action = 'end-transport';
  }

  private finishClose(event: ConnectionEvent): void {
    if (this.currentState === 'closed') return;
    this.currentState = 'closed';
    this.events.push(event);
  }

  // ---------------------------------------------------------------------------------------------
  // Output

  sendText(text: string, options?: SendOptions): void {
    this.assertCanSend();
    // A short text is encoded straight into the shared output slab: no buffer per message.
    // UTF-8 never takes fewer bytes than UTF-16 units, so a longer string cannot fit.
    if (text.length <= COALESCE_LIMIT && this.pending.length === 0 && this.sendsTextAsOneFrame(text.length, options) && this.writeSmallText(text)) {
      return;
    }
    this.sendMessage(Opcode.Text, textEncoder.encode(text), options);
  }

  sendBinary(data: Uint8Array, options?: SendOptions): void {
    this.assertCanSend();
    this.sendMessage(Opcode.Binary, data, options);
  }

  /**
   * Queues a frame prepared once for many connections. A client (which must mask) and a
   * connection that compresses this message encode it from `message.payload` instead.
   */
  sendPrepared(message: PreparedMessage): void {
    this.assertCanSend();
    const opcode = message.binary ? Opcode.Binary : Opcode.Text;
    if (this.role === 'client' || this.shouldCompress(undefined, message.payload.length)) {
      this.sendMessage(opcode, message.payload, undefined);
      return;
    }
    if (this.pending.length === 0) {
      this.slab.seal(this.output);
      for (const chunk of message.chunks) this.output.push(chunk);
      this.outputBytes += message.byteLength;
    } else {
      this.pending.push({ kind: 'frames', chunks: [...message.chunks], bytes: message.byteLength });
      this.pendingBytes += message.byteLength;
    }
  }

  ping(data?: Uint8Array | string): void {
    this.assertCanSend();
    this.queueFrame(Opcode.Ping, true, false, controlPayload(data, 'ping'));
  }

  pong(data?: Uint8Array | string): void {
    this.assertCanSend();
    this.queueFrame(Opcode.Pong, true, false, controlPayload(data, 'pong'));
  }

  /**
   * Starts the close handshake: queues a close frame (empty without a code) and waits for the
   * peer's. Does nothing once a close frame was sent or the connection is closed.
   * Throws `InvalidCloseError` for a code that may not be sent or a reason over 123 bytes.
   */
  close(code?: number, reason?: string): void {
    if (this.currentState !== 'open' || this.closeSent) return;
    const payload = encodeClosePayload(code, reason);
    this.closeSent = true;
    this.localCloseStarted = true;
    this.queueFrame(Opcode.Close, true, false, payload);
    this.currentState = 'closing';
    this.action = 'await-close';
  }

  private assertCanSend(): void {
    if (this.closeSent || this.currentState !== 'open') throw new ConnectionClosedError();
  }

  /**
   * Whether a text of `units` UTF-16 units surely leaves as one uncompressed frame: no
   * fragmentation asked for, and no compression — not negotiated, declined, or impossible
   * because even at 3 bytes per unit the text stays under the threshold.
   */
  private sendsTextAsOneFrame(units: number, options: SendOptions | undefined): boolean {
    if (options !== undefined && options.fragmentSize !== undefined && options.fragmentSize !== 0) return false;
    if (this.deflate === undefined) return true;
    const requested = options?.compress;
    return requested === false || (requested === undefined && units * 3 < this.deflateThreshold);
  }

  private shouldCompress(requested: boolean | undefined, length: number): boolean {
    if (this.deflate === undefined) return false;
    return requested ?? length >= this.deflateThreshold;
  }

  private sendMessage(opcode: number, data: Uint8Array, options: SendOptions | undefined): void {
    const fragmentSize = options?.fragmentSize ?? 0;
    if (!Number.isInteger(fragmentSize) || fragmentSize < 0) {
      throw new InvalidArgumentError(`fragmentSize must be a non-negative integer (0: one frame), got ${fragmentSize}`);
    }
    if (this.shouldCompress(options?.compress, data.length)) {
      if (this.pending === NO_PENDING) this.pending = [];
      this.pending.push({ kind: 'deflate', opcode, data, fragmentSize, started: false, result: undefined });
      this.pendingBytes += data.length;
      this.flushPending();
      return;
    }
    if (this.pending.length === 0) {
      this.writeMessage(this.output, opcode, data, fragmentSize, false);
    } else {
      const chunks: Uint8Array[] = [];
      const bytes = this.writeMessage(chunks, opcode, data, fragmentSize, false);
      this.pending.push({ kind: 'frames', chunks, bytes });
      this.pendingBytes += bytes;
    }
  }

  /** Queues one frame, behind any message still being compressed. */
  private queueFrame(opcode: number, fin: boolean, rsv1: boolean, payload: Uint8Array): void {
    if (this.pending.length === 0) {
      this.writeFrame(this.output, opcode, fin, rsv1, payload);
      return;
    }
    const chunks: Uint8Array[] = [];
    const bytes = this.writeFrame(chunks, opcode, fin, rsv1, payload);
    this.pending.push({ kind: 'frames', chunks, bytes });
    this.pendingBytes += bytes;
    if (opcode === Opcode.Close) this.closeFramePending = true;
  }

  /** Appends a message's frames to `target`; returns their byte count. */
  private writeMessage(target: Uint8Array[], opcode: number, data: Uint8Array, fragmentSize: number, compressed: boolean): number {
    if (fragmentSize === 0 || data.length <= fragmentSize) {
      return this.writeFrame(target, opcode, true, compressed, data);
    }
    const slices = fragmentPayload(data, fragmentSize);
    let bytes = 0;
    for (let i = 0; i < slices.length; i++) {
      const first = i === 0;
      // RSV1 marks the message as compressed on its first frame only (RFC 7692 §6.1).
      bytes += this.writeFrame(target, first ? opcode : Opcode.Continuation, i === slices.length - 1, first && compressed, slices[i]!);
    }
    return bytes;
  }

  /** Encodes one frame into `target` (header and payload, or one chunk for small payloads). */
  private writeFrame(target: Uint8Array[], opcode: number, fin: boolean, rsv1: boolean, payload: Uint8Array): number {
    const length = payload.length;
    const masked = this.role === 'client';
    const headerLength = frameHeaderLength(length, masked);
    const total = headerLength + length;
    if (target === this.output && length <= COALESCE_LIMIT) {
      this.writeSmallFrame(opcode, fin, rsv1, payload, headerLength);
      this.outputBytes += total;
      return total;
    }
    let chunks: Uint8Array[] = target;
    if (target === this.output) {
      this.slab.seal(this.output);
      this.outputBytes += total;
      chunks = this.output;
    }
    if (masked) {
      // The caller's bytes are never modified: the masked payload is a copy next to the header.
      const frame = this.allocate(total);
      writeHeaderBytes(frame, 0, opcode, fin, rsv1, length, true);
      const key = this.maskKeys!.write(frame, headerLength - 4);
      copyMasked(frame, headerLength, payload, key);
      chunks.push(frame);
    } else if (length <= COALESCE_LIMIT) {
      const frame = new Uint8Array(total);
      writeHeaderBytes(frame, 0, opcode, fin, rsv1, length, false);
      frame.set(payload, headerLength);
      chunks.push(frame);
    } else {
      const header = new Uint8Array(headerLength);
      writeHeaderBytes(header, 0, opcode, fin, rsv1, length, false);
      chunks.push(header, payload);
    }
    return total;
  }

  /** Writes a small frame into the slab, masking its payload on the way for a client. */
  private writeSmallFrame(opcode: number, fin: boolean, rsv1: boolean, payload: Uint8Array, headerLength: number): void {
    const length = payload.length;
    const total = headerLength + length;
    const slab = this.slab;
    slab.reserve(total, this.output);
    const bytes = slab.bytes;
    const at = slab.end;
    slab.commit(at, total);
    const masked = this.maskKeys !== undefined;
    writeHeaderBytes(bytes, at, opcode, fin, rsv1, length, masked);
    const p = at + headerLength;
    if (this.maskKeys === undefined) {
      if (length !== 0) bytes.set(payload, p);
      return;
    }
    copyMasked(bytes, p, payload, this.maskKeys.write(bytes, p - 4));
  }

  /**
   * Encodes a text message of at most COALESCE_LIMIT UTF-8 bytes into the slab as one frame.
   * Returns false, having queued nothing, when its UTF-8 is longer. `encodeInto` converts
   * exactly as `encode` does (a lone surrogate becomes U+FFFD) and stops before a character
   * that does not fit, so "all units read" means "all encoded".
   */
  private writeSmallText(text: string): boolean {
    return this.maskKeys !== undefined ? this.writeSmallMaskedText(text, this.maskKeys) : this.writeSmallUnmaskedText(text);
  }

  /** Server: the text is encoded in place, after its header; no copy. */
  private writeSmallUnmaskedText(text: string): boolean {
    const units = text.length;
    // 1 to 3 UTF-8 bytes per UTF-16 unit (a surrogate pair: 4 bytes for its 2 units).
    const bound = Math.min(units * 3, COALESCE_LIMIT);
    // Room for the header the longest possible payload needs; the length is known only after.
    const headerRoom = frameHeaderLength(bound, false);
    const slab = this.slab;
    slab.reserve(headerRoom + bound, this.output);
    const bytes = slab.bytes;
    const at = slab.end;
    let p = at + headerRoom;
    const { read, written } = textEncoder.encodeInto(text, bytes.subarray(p, p + bound));
    if (read !== units) return false;
    const headerLength = frameHeaderLength(written, false);
    if (headerLength < headerRoom) {
      // A shorter header after all: the payload moves up to it. Measured cheaper than encoding
      // into a scratch buffer and copying every text, or than encoding twice.
      bytes.copyWithin(at + headerLength, p, p + written);
      p = at + headerLength;
    }
    writeHeaderBytes(bytes, at, Opcode.Text, true, false, written, false);
    slab.commit(at, p - at + written);
    this.outputBytes += p - at + written;
    return true;
  }

  /**
   * Client: the payload must be masked, which is a pass over it anyway, so the text is encoded
   * into a shared scratch buffer and masked on its way into the slab behind a header of the
   * exact size (measured faster than encoding in place, then masking in place).
   */
  private writeSmallMaskedText(text: string, maskKeys: MaskKeyPool): boolean {
    const { read, written } = textEncoder.encodeInto(text, textScratch);
    if (read !== text.length) return false;
    const headerLength = frameHeaderLength(written, true);
    const slab = this.slab;
    slab.reserve(headerLength + written, this.output);
    const bytes = slab.bytes;
    const at = slab.end;
    writeHeaderBytes(bytes, at, Opcode.Text, true, false, written, true);
    const p = at + headerLength;
    copyMasked(bytes, p, textScratch, maskKeys.write(bytes, p - 4), 0, written);
    slab.commit(at, headerLength + written);
    this.outputBytes += headerLength + written;
    return true;
  }

  /** Moves what is ready from the pending queue to the output, starting compressions in order. */
  private flushPending(): void {
    const pending = this.pending;
    while (pending.length > 0) {
      const head = pending[0]!;
      if (head.kind === 'frames') {
        pending.shift();
        if (pending.length === 0) this.closeFramePending = false;
        this.pendingBytes -= head.bytes;
        this.slab.seal(this.output);
        for (const chunk of head.chunks) this.output.push(chunk);
        this.outputBytes += head.bytes;
        continue;
      }
      if (head.result !== undefined) {
        pending.shift();
        this.pendingBytes -= head.data.length;
        this.writeMessage(this.output, head.opcode, head.result, head.fragmentSize, true);
        continue;
      }
      if (head.started) return;
      head.started = true;
      let result: Uint8Array | PromiseLike<Uint8Array>;
      try {
        result = this.deflate!.compressor.compress(head.data);
      } catch {
        this.compressorFailed();
        return;
      }
      if (!isThenable(result)) {
        head.result = result;
        continue;
      }
      const queue = this.pending;
      result.then(
        (data) => {
          // A failure or end of the transport meanwhile dropped the queue: the result has no place.
          if (this.pending !== queue) return;
          head.result = data;
          this.flushPending();
          this.wake();
        },
        () => {
          if (this.pending !== queue) return;
          this.compressorFailed();
          this.wake();
        },
      );
      return;
    }
  }

  /** The local compressor broke: nothing more can be sent in order, so close with 1011. */
  private compressorFailed(): void {
    const closeDropped = this.dropPending();
    this.readingStopped = true;
    if (!this.closeSent || closeDropped) {
      this.closeSent = true;
      this.queueFrame(Opcode.Close, true, false, encodeClosePayload(CloseCode.InternalError, 'compression failed'));
    }
    this.finishClose({ type: 'close', code: CloseCode.InternalError, reason: 'compression failed', wasClean: false, initiator: 'failure' });
    this.action = 'end-transport';
  }

  /** Forgets sends still waiting for compression; reports whether our close frame was among them. */
  private dropPending(): boolean {
    const hadClose = this.closeFramePending;
    this.closeFramePending = false;
    if (this.pending.length === 0) return false;
    this.pending = NO_PENDING;
    this.pendingBytes = 0;
    return hadClose;
  }

  private dropBacklog(): void {
    this.backlog = NO_BACKLOG;
    this.backlogBytes = 0;
  }

  private wake(): void {
    this.onWakeup?.();
  }
}
