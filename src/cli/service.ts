// `ccmux service print systemd|launchd`: the unit files of docs/deploy/ with this user's real
// paths filled in (binary, home folder, token file), ready to redirect into place.
import { realpathSync } from "node:fs";
import { homedir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import process from "node:process";
import { CONFIG_FLAG_HELP, parseCommand } from "./args.ts";
import { CliError, type Io, UsageError } from "./io.ts";
import { configPath, homeDir, loadConfig } from "../config/mod.ts";

const USAGE = `Usage: ccmux service print systemd|launchd [--bin PATH] [--config FILE]

Prints a service definition that runs 'ccmux serve' with your real paths:
  systemd   a user unit:  ccmux service print systemd > ~/.config/systemd/user/ccmux.service
  launchd   a LaunchAgent: ccmux service print launchd > ~/Library/LaunchAgents/com.ccmux.serve.plist

Flags:
  --bin PATH      the ccmux executable the service runs (default: this one, when it is
                  installed; from a source checkout, run 'npm run install:cli' first)
${CONFIG_FLAG_HELP}
                  (given, or set in $CCMUX_CONFIG: the service runs serve --config FILE)

See docs/deploy/README.md for the install, reload and log commands.
`;

/** Everything the templates need, as absolute paths. */
export interface ServicePaths {
  /** The user's home directory. */
  home: string;
  /** argv of the ccmux executable (one element, or runtime + script). */
  command: string[];
  /** The ccmux home folder (config, tokens). */
  ccmuxHome: string;
  /** Set when CCMUX_HOME overrides the default folder. */
  ccmuxHomeEnv?: string;
  /** Passed as `serve --config`. */
  config?: string;
  /** Folders the service writes: the ccmux home and the token file's folder. */
  writable: string[];
}

export function run(argv: string[], io: Io): number {
  const [sub, ...rest] = argv;
  if (sub === "-h" || sub === "--help") {
    io.out(USAGE);
    return 0;
  }
  if (sub !== "print") {
    throw new UsageError(
      sub ? `unknown service command '${sub}'` : "missing service command (print)",
      "service",
    );
  }
  const args = parseCommand(rest, {
    name: "service print",
    usage: USAGE,
    options: { bin: { type: "string" }, config: { type: "string" } },
    maxPositionals: 1,
  });
  if (args.help) {
    io.out(USAGE);
    return 0;
  }
  const kind = args.positionals[0];
  if (kind !== "systemd" && kind !== "launchd") {
    throw new UsageError(
      kind
        ? `unknown service manager '${kind}': expected systemd or launchd`
        : "missing systemd or launchd",
      "service print",
    );
  }
  const paths = servicePaths(
    io,
    args.values.bin as string | undefined,
    args.values.config as string | undefined,
  );
  io.out(kind === "systemd" ? systemdUnit(paths) : launchdPlist(paths));
  return 0;
}

function servicePaths(
  io: Io,
  bin: string | undefined,
  configFlag: string | undefined,
): ServicePaths {
  const home = io.env.HOME || homedir();
  const ccmuxHome = homeDir(io.env);
  const config = configFlag || io.env.CCMUX_CONFIG
    ? configPath(io.env, configFlag).path
    : undefined;
  const writable = [ccmuxHome];
  // A token file configured outside the home folder needs its own folder writable (the lock
  // and the temporary file of each atomic write sit beside it). The config may name "$VAR"s
  // that only the service's environment sets: then keep the default, which is in ccmuxHome.
  try {
    const tokenDir = dirname(loadConfig({ env: io.env, file: config }).auth.token_file);
    if (!isInside(tokenDir, ccmuxHome)) writable.push(tokenDir);
  } catch {
    // A broken config is reported by `ccmux config check`, not here.
  }
  let command: string[];
  if (bin) command = [resolve(bin)];
  else {
    const self = selfCommand();
    if (!self) {
      // A unit naming a file that does not exist fails only when the service starts: refuse now.
      throw new CliError(
        "this ccmux runs from its source files, which give a service no stable command: " +
          "install it first (npm run install:cli, see README.md) and run 'ccmux service print' " +
          "again, or name the executable with --bin PATH",
      );
    }
    command = self;
  }
  return {
    home,
    command,
    ccmuxHome,
    ccmuxHomeEnv: io.env.CCMUX_HOME ? ccmuxHome : undefined,
    config,
    writable,
  };
}

/**
 * How to start this ccmux again: a single executable (Node SEA, `deno compile`) is just its
 * path; a bundle run by node is node + the bundle. Running from .ts sources gives no stable
 * command, so undefined.
 */
function selfCommand(): string[] | undefined {
  const exe = process.execPath;
  const script = process.argv[1];
  if (!script || resolve(script) === exe || /^ccmux(\.exe)?$/i.test(basename(exe))) return [exe];
  // `ccmux` on PATH may be a symlink to the bundle (npm link): name the bundle itself.
  let real: string;
  try {
    real = realpathSync(script);
  } catch {
    return undefined;
  }
  if (/\.(mjs|cjs|js)$/.test(real)) return [exe, real];
  return undefined;
}

function isInside(path: string, folder: string): boolean {
  const p = resolve(path);
  const f = resolve(folder);
  return p === f || p.startsWith(f.endsWith("/") ? f : `${f}/`);
}

/** One systemd command-line word: quoted when needed, `%` and `$` escaped. */
function systemdWord(s: string): string {
  const e = s.replaceAll("%", "%%").replaceAll("$", "$$");
  return /[\s"'\\;]/.test(e) ? `"${e.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"` : e;
}

/** A path for a systemd setting that takes paths (ReadWritePaths, EnvironmentFile). */
function systemdPath(s: string): string {
  return s.replaceAll("%", "%%");
}

function serveArgs(p: ServicePaths): string[] {
  return [...p.command, "serve", ...(p.config ? ["--config", p.config] : [])];
}

/** The user unit of docs/deploy/ccmux.service with real paths. */
export function systemdUnit(p: ServicePaths): string {
  const env = [
    ...(p.ccmuxHomeEnv ? [`Environment=${systemdWord(`CCMUX_HOME=${p.ccmuxHomeEnv}`)}`] : []),
    "Environment=NO_COLOR=1",
  ];
  return `# ccmux as a systemd *user* service (runs as you, with your ~/.claude-code-mux).
# Install: see docs/deploy/README.md, or print one with your real paths: ccmux service print systemd
[Unit]
Description=ccmux: local gateway for Claude Code (Anthropic-compatible proxy)
Documentation=https://github.com/ccmux/ccmux/blob/main/docs/deploy/README.md
After=network-online.target
Wants=network-online.target
StartLimitIntervalSec=120
StartLimitBurst=5

[Service]
Type=simple
ExecStart=${serveArgs(p).map(systemdWord).join(" ")}
# \`systemctl --user reload ccmux\` re-reads the config without dropping in-flight requests.
ExecReload=/bin/kill -HUP $MAINPID
# Optional KEY=value lines for "$VAR" values in config.toml (e.g. ANTHROPIC_API_KEY=...).
EnvironmentFile=-${systemdPath(join(p.ccmuxHome, "env"))}
${env.join("\n")}
Restart=on-failure
RestartSec=2
# SIGTERM drains in-flight requests for up to 10 s before ccmux exits.
TimeoutStopSec=20
UMask=0077

# Hardening: ccmux needs the network, read access to its binary and config, and write access
# to its home folder (token file, lock file). Nothing else.
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=read-only
ReadWritePaths=${p.writable.map(systemdPath).join(" ")}
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
RemoveIPC=yes
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallFilter=~@privileged @resources
CapabilityBoundingSet=
# Not set on purpose: MemoryDenyWriteExecute=yes breaks the V8 JIT that runs ccmux.

[Install]
WantedBy=default.target
`;
}

function xml(s: string): string {
  return s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");
}

/** The LaunchAgent of docs/deploy/com.ccmux.serve.plist with real paths. */
export function launchdPlist(p: ServicePaths): string {
  const args = serveArgs(p).map((a) => `    <string>${xml(a)}</string>`).join("\n");
  const env = [["NO_COLOR", "1"], ...(p.ccmuxHomeEnv ? [["CCMUX_HOME", p.ccmuxHomeEnv]] : [])]
    .map(([k, v]) => `    <key>${k}</key>\n    <string>${xml(v)}</string>`).join("\n");
  const log = xml(join(p.home, "Library", "Logs", "ccmux.log"));
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<!-- ccmux as a launchd LaunchAgent (runs as you). Install: see docs/deploy/README.md,
     or print one with your real paths: ccmux service print launchd -->
<plist version="1.0">
<dict>
  <key>Label</key>
  <string>com.ccmux.serve</string>
  <key>ProgramArguments</key>
  <array>
${args}
  </array>
  <key>EnvironmentVariables</key>
  <dict>
${env}
  </dict>
  <key>RunAtLoad</key>
  <true/>
  <!-- Restart after a crash or a failed start, not after a clean exit (like Restart=on-failure). -->
  <key>KeepAlive</key>
  <dict>
    <key>SuccessfulExit</key>
    <false/>
  </dict>
  <key>ThrottleInterval</key>
  <integer>5</integer>
  <!-- SIGTERM drains in-flight requests for up to 10 s before ccmux exits. -->
  <key>ExitTimeOut</key>
  <integer>20</integer>
  <key>Umask</key>
  <integer>63</integer>
  <key>StandardOutPath</key>
  <string>${log}</string>
  <key>StandardErrorPath</key>
  <string>${log}</string>
</dict>
</plist>
`;
}
