import { MS_NOATIME, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY, MS_RELATIME } from '../../src/native/mount-flags';
import { mountsAtOrBelow, parseMountInfo, type MountInfoEntry } from '../../src/inside/mountinfo';

// Shaped like a real /proc/self/mountinfo (proc(5)): optional fields of any
// number before the "-" separator, octal escapes in paths, a second mount on
// /usr/lib stacked on the first one.
const SAMPLE = [
  '22 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw,errors=remount-ro',
  '23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw',
  '24 22 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:2 - sysfs sysfs rw',
  '25 22 0:5 / /dev rw,nosuid,relatime shared:3 - devtmpfs udev rw,size=8012345k,nr_inodes=2003086,mode=755',
  '30 22 259:3 / /usr ro,nodev,relatime shared:20 - ext4 /dev/nvme0n1p3 ro',
  '31 30 0:40 / /usr/lib rw,nosuid,noatime shared:21 - tmpfs tmpfs rw',
  '32 30 259:4 /local /usr/local rw,relatime - xfs /dev/sdb1 rw',
  '33 22 259:5 / /usr2 rw,relatime shared:22 - ext4 /dev/sdc1 rw',
  '34 31 259:3 /lib /usr/lib ro,nosuid,nodev,noexec,relatime shared:20 master:7 - ext4 /dev/nvme0n1p3 ro',
  '35 32 0:41 / /usr/local/My\\040Files ro,nosuid,nodev,noexec - fuse.sshfs host:/a\\040b rw,user_id=1000',
  '36 22 0:42 / /tmp rw,nosuid,nodev shared:30 - tmpfs tmpfs rw,size=1024k',
  '',
].join('\n');

const entries = parseMountInfo(SAMPLE);
const byId = (id: number): MountInfoEntry => {
  const entry = entries.find((e) => e.mountId === id);
  if (!entry) throw new Error(`no mount ${id}`);
  return entry;
};

describe('parseMountInfo', () => {
  test('reads every line, in order, skipping blank ones', () => {
    expect(entries.map((e) => e.mountId)).toEqual([22, 23, 24, 25, 30, 31, 32, 33, 34, 35, 36]);
  });

  test.each<[number, MountInfoEntry]>([
    [22, { mountId: 22, parentId: 1, mountPoint: '/', flags: MS_RELATIME, fsType: 'ext4' }],
    [23, { mountId: 23, parentId: 22, mountPoint: '/proc', flags: MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME, fsType: 'proc' }],
    [25, { mountId: 25, parentId: 22, mountPoint: '/dev', flags: MS_NOSUID | MS_RELATIME, fsType: 'devtmpfs' }],
    [30, { mountId: 30, parentId: 22, mountPoint: '/usr', flags: MS_RDONLY | MS_NODEV | MS_RELATIME, fsType: 'ext4' }],
    [31, { mountId: 31, parentId: 30, mountPoint: '/usr/lib', flags: MS_NOSUID | MS_NOATIME, fsType: 'tmpfs' }],
    // No optional fields at all: the separator directly follows the options.
    [32, { mountId: 32, parentId: 30, mountPoint: '/usr/local', flags: MS_RELATIME, fsType: 'xfs' }],
    // Two optional fields.
    [34, { mountId: 34, parentId: 31, mountPoint: '/usr/lib', flags: MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME, fsType: 'ext4' }],
    // \040 is a space; the per-mount options, not the super options, give the flags.
    [35, { mountId: 35, parentId: 32, mountPoint: '/usr/local/My Files', flags: MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, fsType: 'fuse.sshfs' }],
    [36, { mountId: 36, parentId: 22, mountPoint: '/tmp', flags: MS_NOSUID | MS_NODEV, fsType: 'tmpfs' }],
  ])('mount %d', (id, expected) => {
    expect(byId(id)).toEqual(expected);
  });

  test('a rw mount has no MS_RDONLY; a ro one has it', () => {
    expect(byId(31).flags & MS_RDONLY).toBe(0);
    expect(byId(30).flags & MS_RDONLY).toBe(MS_RDONLY);
  });

  test.each<[string, string]>([
    ['\\040', ' '],
    ['\\011', '\t'],
    ['\\012', '\n'],
    ['\\134', '\\'],
    ['\\134040', '\\040'],
    ['a\\040b\\040c', 'a b c'],
  ])('unescapes %j in a mount point', (escaped, plain) => {
    const [entry] = parseMountInfo(`40 22 0:50 / /mnt/${escaped} rw - tmpfs tmpfs rw`);
    expect(entry.mountPoint).toBe(`/mnt/${plain}`);
  });

  test('ignores lines without a separator', () => {
    expect(parseMountInfo('garbage\n40 22 0:50 / /x rw shared:1\n')).toEqual([]);
  });

  test('unknown options add no flags', () => {
    const [entry] = parseMountInfo('40 22 0:50 / /x rw,lazytime,sync - tmpfs tmpfs rw');
    expect(entry.flags).toBe(0);
  });
});

describe('mountsAtOrBelow', () => {
  test('returns the mount and its submounts, outermost first, topmost for a path mounted twice', () => {
    const found = mountsAtOrBelow(entries, '/usr');
    expect(found.map((e) => e.mountPoint)).toEqual(['/usr', '/usr/lib', '/usr/local', '/usr/local/My Files']);
    // /usr/lib is mounted twice (31, then 34 on top of it): the later, topmost one wins.
    expect(found[1].mountId).toBe(34);
  });

  test('/usr2 is not below /usr', () => {
    expect(mountsAtOrBelow(entries, '/usr').map((e) => e.mountId)).not.toContain(33);
    expect(mountsAtOrBelow(entries, '/usr2').map((e) => e.mountId)).toEqual([33]);
  });

  test.each<[string, number[]]>([
    ['/usr/local', [32, 35]],
    ['/usr/local/My Files', [35]],
    ['/usr/lib', [34]],
    ['/tmp', [36]],
    ['/home', []],
    ['/us', []],
  ])('%j', (p, ids) => {
    expect(mountsAtOrBelow(entries, p).map((e) => e.mountId)).toEqual(ids);
  });

  test('/ returns every mount point once, / first', () => {
    const found = mountsAtOrBelow(entries, '/');
    expect(found[0].mountPoint).toBe('/');
    expect(found).toHaveLength(10);
    expect(new Set(found.map((e) => e.mountPoint)).size).toBe(10);
  });

  test('parents come before children whatever the input order', () => {
    const reversed = [...entries].reverse();
    // Reversed, 31 is now the later of the two /usr/lib mounts.
    const found = mountsAtOrBelow(reversed, '/usr');
    expect(found.map((e) => e.mountPoint)).toEqual(['/usr', '/usr/lib', '/usr/local', '/usr/local/My Files']);
    for (let i = 1; i < found.length; i++) {
      expect(found[i].mountPoint.length).toBeGreaterThanOrEqual(found[i - 1].mountPoint.length);
    }
  });

  test('mounts hidden by a later mount over their parent are left out', () => {
    const stacked = parseMountInfo([
      '1 0 0:1 / / rw - tmpfs tmpfs rw',
      '20 1 254:0 /srv/nm /work/main/node_modules ro,nosuid,nodev - ext4 /dev/vda rw',
      '30 1 254:0 /srv/main /work/main ro,nosuid,nodev - ext4 /dev/vda rw',
      '31 30 0:5 / /work/main/cache rw,nosuid,nodev - tmpfs tmpfs rw',
    ].join('\n'));
    expect(mountsAtOrBelow(stacked, '/work/main').map((e) => e.mountId)).toEqual([30, 31]);
    // 20 sits under 30, which was mounted over its parent later: the path leads into 30, where nothing is mounted at node_modules.
    expect(mountsAtOrBelow(stacked, '/work/main/node_modules').map((e) => e.mountId)).toEqual([]);
    expect(mountsAtOrBelow(stacked, '/nowhere')).toEqual([]);
  });

  test('mounts that a later mount on a shorter path covers are not on the way, however long their prefix', () => {
    const covered = parseMountInfo([
      '1 0 0:1 / / rw - tmpfs tmpfs rw',
      '2 1 0:2 / /mnt/a/b rw - tmpfs tmpfs rw',
      '3 2 0:3 / /mnt/a/b/c/d rw - tmpfs tmpfs rw',
      '4 1 0:4 / /mnt/a ro - tmpfs tmpfs rw',
      '5 4 0:5 / /mnt/a/x rw - tmpfs tmpfs rw',
    ].join('\n'));
    // /mnt/a/b/c is a plain folder of 4 now: 2 and 3 are out of reach, so nothing below it is remounted.
    expect(mountsAtOrBelow(covered, '/mnt/a/b/c')).toEqual([]);
    expect(mountsAtOrBelow(covered, '/mnt/a').map((e) => e.mountId)).toEqual([4, 5]);
    expect(mountsAtOrBelow(covered, '/mnt').map((e) => e.mountId)).toEqual([4, 5]);
  });

  test('a part of the table (the host\'s mounts under /oldroot, as the setup keeps them): its top mount is where the walk starts', () => {
    const host = parseMountInfo([
      '50 40 254:0 / /oldroot rw - ext4 /dev/vda rw',
      '51 50 0:6 / /oldroot/etc/hosts rw - ext4 /dev/vda rw',
      '52 50 0:7 / /oldroot/work rw - tmpfs tmpfs rw',
    ].join('\n'));
    expect(mountsAtOrBelow(host, '/oldroot/etc').map((e) => e.mountId)).toEqual([51]);
    expect(mountsAtOrBelow(host, '/oldroot/work/p')).toEqual([]);
    expect(mountsAtOrBelow(host, '/elsewhere')).toEqual([]);
  });

  test('a path that is no mount point: the mounts below it, in the mount that holds it', () => {
    // As in a Docker container: /etc is a folder of the root, /etc/hosts a file bound onto it.
    const docker = parseMountInfo([
      '1 0 0:1 / / rw - overlay overlay rw',
      '2 1 254:0 /containers/c1/hosts /etc/hosts rw,relatime - ext4 /dev/vda rw',
      '3 1 254:0 /containers/c1/resolv.conf /etc/resolv.conf rw,relatime - ext4 /dev/vda rw',
      '4 1 254:0 /etc2 /etc2/x rw - ext4 /dev/vda rw',
      '5 1 0:2 / /work rw - tmpfs tmpfs rw',
      '6 5 0:3 / /work/p/sub rw - tmpfs tmpfs rw',
    ].join('\n'));
    expect(mountsAtOrBelow(docker, '/etc').map((e) => e.mountPoint)).toEqual(['/etc/hosts', '/etc/resolv.conf']);
    expect(mountsAtOrBelow(docker, '/etc/').map((e) => e.mountId)).toEqual([2, 3]);
    // Held by /work, not by /: only what lies below /work/p.
    expect(mountsAtOrBelow(docker, '/work/p').map((e) => e.mountId)).toEqual([6]);
    expect(mountsAtOrBelow(docker, '/work/q')).toEqual([]);
    expect(mountsAtOrBelow(entries, '/home')).toEqual([]);
  });
});
