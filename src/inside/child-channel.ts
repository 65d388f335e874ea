// The child's end of the runner's channel: length-prefixed JSON frames on
// the socket the launcher hands over at CHANNEL_FD. Not Node's IPC: the
// runner decodes every byte itself, because test code runs in this process
// and can write to this descriptor too (the runner's checks of what it
// receives, not anything here, are what protect Jest's process).
//
// Processes a test spawns do not inherit the socket: Node marks every
// inherited descriptor up to 15 close-on-exec at startup
// (uv_disable_stdio_inheritance), which `descriptorIsCloseOnExec` checks.
import fs from 'node:fs';
import net from 'node:net';
import { FrameDecoder, PARENT_LIMITS, encodeFrame } from '../shared/frames';
import { decodeMessage, encodeMessage, type ChildMessage, type ParentMessage } from '../shared/jest-protocol';
import { CHANNEL_FD } from '../shared/sandbox-protocol';

const O_CLOEXEC = 0o2000000;

export interface ChildChannel {
  /** Resolves once the frame is handed to the kernel (or at once when the channel is gone). */
  post(message: ChildMessage): Promise<void>;
  /** Each message the runner sends, in order; a frame that cannot be decoded is passed to `broken`. */
  listen(handlers: { message(message: ParentMessage): void; broken(error: unknown): void; closed(): void }): void;
}

/** Whether `fd` is close-on-exec, per /proc/self/fdinfo (no syscall layer needed in the child). */
export function descriptorIsCloseOnExec(fd: number): boolean {
  const flags = /^flags:\s*([0-7]+)/m.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1];
  return flags !== undefined && (parseInt(flags, 8) & O_CLOEXEC) !== 0;
}

/**
 * By the descriptor's link, not fstat: Node's fs.realpathSync reads the
 * last stat result left in a shared buffer, and after an fstat of a socket
 * it stops resolving at the first cached component, so every later require
 * through a symlink (pnpm's layout) would keep the unresolved path.
 */
function isSocket(fd: number): boolean {
  try {
    return fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:');
  } catch {
    return false;
  }
}

/** The channel at CHANNEL_FD, or why there is none. */
export function openChildChannel(): ChildChannel | { missing: string } {
  if (!isSocket(CHANNEL_FD)) return { missing: `it has no channel socket on fd ${CHANNEL_FD}` };
  if (!descriptorIsCloseOnExec(CHANNEL_FD)) return { missing: `its channel on fd ${CHANNEL_FD} is not close-on-exec, so processes a test spawns would inherit it` };
  const socket = new net.Socket({ fd: CHANNEL_FD, readable: true, writable: true });
  // Nothing here speaks Node's IPC; a node that test code spawns must not look for a channel either.
  delete process.env.NODE_CHANNEL_FD;
  delete process.env.NODE_CHANNEL_SERIALIZATION_MODE;
  return {
    post: (message) => new Promise((resolve) => {
      if (socket.destroyed || !socket.writable) return resolve();
      socket.write(encodeFrame(encodeMessage(message)), () => resolve());
    }),
    listen({ message, broken, closed }) {
      const decoder = new FrameDecoder(PARENT_LIMITS);
      socket.on('end', closed).on('error', closed);
      socket.on('data', (chunk: Buffer) => {
        try {
          for (const frame of decoder.push(chunk)) message(decodeMessage(frame) as ParentMessage);
        } catch (error) {
          broken(error);
        }
      });
    },
  };
}
