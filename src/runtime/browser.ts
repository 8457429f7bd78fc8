// Opening the user's browser: the one place that looks at the platform for it.
import { spawn } from "node:child_process";
import process from "node:process";

type Env = Record<string, string | undefined>;

/**
 * Why the browser should not be opened here, or undefined when it may be: an SSH session
 * (the browser would open on the wrong machine) or, on Linux and BSD, no graphical display.
 */
export function browserUnavailable(
  env: Env,
  platform: string = process.platform,
): string | undefined {
  if (env.SSH_CONNECTION || env.SSH_TTY) return "this is an SSH session";
  if (platform !== "darwin" && platform !== "win32" && !env.DISPLAY && !env.WAYLAND_DISPLAY) {
    return "there is no display";
  }
  return undefined;
}

/** The command that opens `url` on `platform`. */
export function browserCommand(
  url: string,
  platform: string = process.platform,
): { cmd: string; args: string[]; verbatim: boolean } {
  if (platform === "darwin") return { cmd: "open", args: [url], verbatim: false };
  if (platform === "win32") {
    // cmd's `start` treats & as a command separator: escape it; "" is the window title.
    return { cmd: "cmd", args: ["/c", "start", '""', url.replace(/&/g, "^&")], verbatim: true };
  }
  return { cmd: "xdg-open", args: [url], verbatim: false };
}

/** Variables the openers (xdg-open, open, start) and the browsers they start need. */
const KEEP = new Set([
  "PATH",
  "HOME",
  "USER",
  "LOGNAME",
  "SHELL",
  "LANG",
  "LANGUAGE",
  "TZ",
  "TMPDIR",
  "TERM",
  "DISPLAY",
  "WAYLAND_DISPLAY",
  "XAUTHORITY",
  "DBUS_SESSION_BUS_ADDRESS",
  "BROWSER",
  "DESKTOP_SESSION",
  "KDE_FULL_SESSION",
  "KDE_SESSION_VERSION",
  "GNOME_DESKTOP_SESSION_ID",
  "MATE_DESKTOP_SESSION_ID",
  "WSL_DISTRO_NAME",
  "WSL_INTEROP",
  "__CF_USER_TEXT_ENCODING",
  // Windows: cmd and start need these to find programs and the user's profile.
  "SYSTEMROOT",
  "WINDIR",
  "COMSPEC",
  "PATHEXT",
  "USERPROFILE",
  "APPDATA",
  "LOCALAPPDATA",
  "TEMP",
  "TMP",
]);

/**
 * The environment the browser opener gets: only what opening a URL needs (display, session
 * bus, desktop, locale, paths), never the caller's API keys or ccmux's own settings.
 */
export function browserEnv(env: Env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    const upper = name.toUpperCase();
    if (KEEP.has(upper) || upper.startsWith("XDG_") || upper.startsWith("LC_")) {
      out[name] = value;
    }
  }
  return out;
}

/**
 * Opens `url` in the default browser, detached, with a minimal environment (browserEnv).
 * Failing to open it is not an error: the URL has already been printed for the user to open
 * by hand.
 */
export function openBrowser(url: string, env: Env = process.env): void {
  const { cmd, args, verbatim } = browserCommand(url);
  try {
    const child = spawn(cmd, args, {
      detached: true,
      stdio: "ignore",
      env: browserEnv(env),
      windowsVerbatimArguments: verbatim,
    });
    child.on("error", () => {});
    child.unref();
  } catch {
    // No such program, or no permission to run programs: the printed URL still works.
  }
}
