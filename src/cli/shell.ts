// Which shell's syntax `ccmux env` and `ccmux token --env` print: --shell, else the login shell
// named by $SHELL (fish users get fish syntax), else POSIX sh.
import { type Io, UsageError } from "./io.ts";

export type Shell = "sh" | "fish" | "powershell";

const NAMES: Record<string, Shell> = {
  sh: "sh",
  bash: "sh",
  zsh: "sh",
  dash: "sh",
  ksh: "sh",
  fish: "fish",
  powershell: "powershell",
  pwsh: "powershell",
};

/** The shell of `--shell`, else of $SHELL, else sh; an unknown --shell is a usage error. */
export function pickShell(flag: unknown, io: Io, command: string): Shell {
  if (typeof flag === "string") {
    const s = NAMES[flag];
    if (!s) {
      throw new UsageError(
        `invalid value '${flag}' for --shell: expected sh, fish or powershell`,
        command,
      );
    }
    return s;
  }
  const login = (io.env.SHELL ?? "").split(/[\\/]/).pop()!.replace(/\.exe$/i, "").toLowerCase();
  return NAMES[login] ?? "sh";
}

/** One line that sets and exports NAME=value in `shell`, the value quoted literally. */
export function exportLine(shell: Shell, name: string, value: string): string {
  if (shell === "fish") return `set -gx ${name} '${value.replace(/[\\']/g, "\\$&")}';\n`;
  if (shell === "powershell") return `$env:${name} = '${value.replaceAll("'", "''")}'\n`;
  return `export ${name}='${value.replaceAll("'", `'\\''`)}'\n`;
}
