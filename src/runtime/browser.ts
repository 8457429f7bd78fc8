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

/**
 * Opens `url` in the default browser, detached. Failing to open it is not an error: the URL
 * has already been printed for the user to open by hand.
 */
export function openBrowser(url: string): void {
  const { cmd, args, verbatim } = browserCommand(url);
  try {
    const child = spawn(cmd, args, {
      detached: true,
      stdio: "ignore",
      windowsVerbatimArguments: verbatim,
    });
    child.on("error", () => {});
    child.unref();
  } catch {
    // No such program, or no permission to run programs: the printed URL still works.
  }
}
