// An older util-linux for the compatibility test: Debian 11's package,
// fetched with apt from Debian's archive and unpacked (never installed) into
// the stage, so that both root and nobody can run it and the leak check
// removes it with the stage.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { currentStage } from './stage';

const SUITE = 'bullseye';

/** A world-readable folder holding Debian 11's `unshare` and `setpriv`, fetched once per run. */
export function debianUtilLinux(): string {
  const root = path.join(currentStage().root, `util-linux-${SUITE}`);
  const bin = path.join(root, 'bin');
  if (fs.existsSync(path.join(bin, 'setpriv'))) return bin;
  const apt = path.join(root, 'apt');
  fs.mkdirSync(path.join(apt, 'lists', 'partial'), { recursive: true });
  fs.mkdirSync(path.join(apt, 'cache', 'archives', 'partial'), { recursive: true });
  const sources = path.join(apt, 'sources.list');
  fs.writeFileSync(sources, `deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian ${SUITE} main\n`);
  // Its own lists, cache and an empty dpkg status: nothing of the host's apt state is read or changed.
  const options = [
    `Dir::Etc::sourcelist=${sources}`, 'Dir::Etc::sourceparts=-', `Dir::State::Lists=${path.join(apt, 'lists')}`,
    `Dir::Cache=${path.join(apt, 'cache')}`, 'Dir::State::status=/dev/null', 'Debug::NoLocking=1', 'APT::Sandbox::User=root',
  ].flatMap((o) => ['-o', o]);
  try {
    execFileSync('apt-get', [...options, '-qq', 'update'], { stdio: 'pipe', timeout: 120_000 });
    execFileSync('apt-get', [...options, '-qq', 'download', `util-linux/${SUITE}`], { cwd: apt, stdio: 'pipe', timeout: 120_000 });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? String(error);
    throw new Error(`could not fetch Debian 11's util-linux from Debian's archive (the test needs it): ${stderr}`);
  }
  const deb = fs.readdirSync(apt).find((name) => name.startsWith('util-linux_') && name.endsWith('.deb'));
  if (deb === undefined) throw new Error(`apt-get download left no util-linux .deb in ${apt}`);
  const unpacked = path.join(root, 'unpacked');
  execFileSync('dpkg-deb', ['-x', path.join(apt, deb), unpacked]);
  fs.mkdirSync(bin, { mode: 0o755 });
  for (const tool of ['unshare', 'setpriv']) fs.copyFileSync(path.join(unpacked, 'usr', 'bin', tool), path.join(bin, tool));
  execFileSync('chmod', ['-R', 'a+rX', root]);
  return bin;
}
