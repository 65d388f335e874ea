// An interactive `mount-sandbox run` (a debug shell) gets a terminal of its
// own: a fresh pty whose slave is the command's stdio and controlling
// terminal, relayed to the caller's terminal in raw mode. The shell then has
// job control, ^C reaches the command inside instead of killing the whole
// sandbox, and TIOCSTI inside can only type into this pty, never into the
// caller's shell. The caller's own terminal never enters the sandbox.
import tty from 'node:tty';
import type * as Syscalls from '../native/syscalls';

type Native = Pick<typeof Syscalls, 'openPty' | 'setWindowSize'>;

/**
 * Whether `run` gives the command a pty: only when the caller sits at a
 * terminal on both ends. Asks the fds, not process.stdin, whose mere creation
 * would make a piped stdin non-blocking for the command too.
 */
export function wantsTerminal(): boolean {
  return tty.isatty(0) && tty.isatty(1);
}

export interface TerminalRelay {
  /** The fd to hand to the sandbox as stdio. */
  slave: number;
  /** Call once the sandbox has been spawned: the caller's copy of the slave must close, or the relay never sees the end. */
  spawned(closeSlave: () => void): void;
  /** After the command exited: relays what is left, then gives the caller's terminal back as it was. */
  finish(): Promise<void>;
}

export function openTerminalRelay(native: Native, input: tty.ReadStream, output: tty.WriteStream): TerminalRelay {
  const pty = native.openPty();
  const resize = (): void => {
    try {
      native.setWindowSize(pty.master, output.rows, output.columns);
    } catch {
      // A window size is a nicety; the command runs without it.
    }
  };
  resize();
  const master = new tty.ReadStream(pty.master);
  const toCommand = (data: Buffer): void => {
    master.write(data);
  };
  // The command's terminal ends when its last process closes the slave: Linux then fails reads with EIO.
  const ended = new Promise<void>((resolve) => {
    master.on('error', () => resolve());
    master.on('end', () => resolve());
    master.on('close', () => resolve());
  });
  master.on('data', (data: Buffer) => output.write(data));
  return {
    slave: pty.slave,
    spawned(closeSlave) {
      closeSlave();
      output.on('resize', resize);
      input.setRawMode(true);
      input.on('data', toCommand);
      input.resume();
    },
    async finish() {
      // The pid namespace is gone with the command, so nothing holds the slave for long.
      await Promise.race([ended, new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
      output.off('resize', resize);
      input.off('data', toCommand);
      if (input.isRaw) input.setRawMode(false);
      input.pause();
      master.destroy();
    },
  };
}
