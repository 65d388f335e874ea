export const HELP = `mount-sandbox: run a command in a fresh, disposable Linux filesystem

Usage:
  mount-sandbox run [options] [--] CMD [ARGS...]
  mount-sandbox doctor [--fix]  what this host allows, and how to fix what it does not;
                                --fix (as root) installs the AppArmor profile that
                                Ubuntu's user namespace restriction needs
  mount-sandbox --help | --version

The command runs in new user, mount and pid namespaces. Its root is a fresh
tmpfs; /usr, /etc, node and the project directory are bind-mounted read-only;
/tmp, $HOME and /var/tmp are fresh and writable; /dev is minimal and /proc
shows only the sandbox's processes. Everything written is gone when the
command exits, and so is every process it started.

Options (applied after the defaults, in the order given):
  --ro-bind SRC[:DST]   bind host path SRC read-only at DST (default: SRC)
  --bind SRC[:DST]      bind host path SRC read-write at DST (writes reach the host)
  --overlay SRC[:DST]   the host tree SRC at DST, writable, every change discarded
                        (overlayfs; a copy where the kernel refuses it)
  --tmpfs DST[:SIZE]    an empty writable tmpfs at DST, e.g. --tmpfs /data:64m
  --hide PATH           make PATH (under a bound tree, e.g. the project's .env) appear empty
  --setenv K=V          set an environment variable inside
  --unsetenv K          remove an environment variable inside
  --unshare-net         a new network namespace with only loopback (up)
  --uid same|root       the uid inside: your own (default) or 0, unprivileged outside
  --hostname NAME       a new UTS namespace with this hostname
  --cwd DIR             working directory inside (default: the current one)
  --project DIR         the project directory (default: the current one)
  --project-mode MODE   readonly (default here), overlay (writable, writes discarded; the
                        default under Jest) or writable (writes reach the host: unsafe)
  --config FILE         sandbox options as JSON, the shape of Jest's
                        testEnvironmentOptions.sandbox; flags apply after it
  --config-json JSON    the same, inline
  --root-size SIZE      size of the root tmpfs (default: 1g)
  -v, --verbose         print the isolation mode, the mount plan and timings to stderr
  -h, --help            this text

Relative SRC paths resolve against the current directory. Sizes take k, m, g.

Exit status: the command's own; death by signal N gives 128+N; 2 for bad
options (nothing ran); 125 when the sandbox could not be built.

Host requirements: Linux with user namespaces (or root), util-linux >= 2.36
(unshare, setpriv), /bin/sh. mount-sandbox doctor checks them.
`;
