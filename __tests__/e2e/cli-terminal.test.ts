// `mount-sandbox run -- sh` at a terminal: the shell gets a pty of its own,
// with job control, and ^C interrupts the command inside instead of killing
// the sandbox. `script` gives the CLI a real terminal, as a user's would be.
import { spawn } from 'node:child_process';
import { asUser, TEST_HOME, USERS } from '../helpers/run';
import { currentStage } from '../helpers/stage';

interface Session {
  send(text: string): void;
  waitFor(pattern: RegExp): Promise<void>;
  output(): string;
  exited: Promise<number | null>;
}

function terminalSession(argv: string[]): Session {
  const command = argv.map((word) => `'${word.replace(/'/g, `'\\''`)}'`).join(' ');
  const [file, ...args] = ['script', '--quiet', '--flush', '--return', '--command', command, '/dev/null'];
  const child = spawn(file, args, { cwd: currentStage().project, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: TEST_HOME, TERM: 'dumb' }, stdio: ['pipe', 'pipe', 'pipe'] });
  let text = '';
  const waiters: Array<() => void> = [];
  for (const stream of [child.stdout, child.stderr]) {
    stream.setEncoding('utf8').on('data', (chunk: string) => {
      text += chunk;
      for (const wake of waiters.splice(0)) wake();
    });
  }
  const timer = setTimeout(() => child.kill('SIGKILL'), 40_000);
  return {
    send: (input) => child.stdin.write(input),
    output: () => text,
    waitFor: (pattern) => new Promise((resolve, reject) => {
      const deadline = setTimeout(() => reject(new Error(`no ${pattern} in the terminal after 20 s; it shows:\n${text}`)), 20_000);
      const check = (): void => {
        if (pattern.test(text)) {
          clearTimeout(deadline);
          resolve();
        } else {
          waiters.push(check);
        }
      };
      check();
    }),
    exited: new Promise((resolve) => child.on('close', (code) => {
      clearTimeout(timer);
      resolve(code);
    })),
  };
}

test.each(USERS)('as %s: a debug shell has a terminal and job control, ^C stops only the command, the exit status comes through', async (user) => {
  const session = terminalSession(asUser(user, [process.execPath, currentStage().cli, 'run', '--', 'sh', '-i']));
  // Arithmetic in each marker: the echoed input line cannot match, only the command's output.
  session.send('echo READY-$((1+1))\n');
  await session.waitFor(/READY-2/);
  session.send('[ -t 0 ] && [ -t 1 ] && echo TERMINAL-$((2+2))\n');
  await session.waitFor(/TERMINAL-4/);
  session.send("sh -c 'echo SLEEPING-$((3+3)); exec sleep 60'\n");
  await session.waitFor(/SLEEPING-6/);
  session.send('\x03');
  session.send('echo ALIVE-$((6*7))\n');
  await session.waitFor(/ALIVE-42/);
  session.send('exit 7\n');
  expect(await session.exited).toBe(7);
  expect(session.output()).not.toMatch(/can't access tty|job control turned off|no job control/);
}, 60_000);
