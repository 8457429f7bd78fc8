// The OS keychain as a place for one secret per account name (the token store's key): Linux's
// Secret Service through `secret-tool` (libsecret), macOS's `security`, Windows' Credential
// Manager through PowerShell. Secrets go to these tools on stdin, never on their command line.
// Only the Linux backend is tested for real (tests/sealed_keychain_test.ts); the macOS and
// Windows ones follow their tools' documented interfaces and are untested.
import { spawn } from "node:child_process";
import process from "node:process";

/** Every item ccmux keeps in a keychain has this service name. */
export const KEYCHAIN_SERVICE = "ccmux";

/** What a lookup found. */
export type Lookup = { found: string } | { missing: true } | { unusable: string };

/** One keychain backend. */
export interface Keychain {
  /** For messages: "the Secret Service (secret-tool)", … */
  readonly name: string;
  lookup(account: string): Promise<Lookup>;
  /** Stores (or replaces) the secret; throws Error with a reason when it cannot. */
  store(account: string, secret: string): Promise<void>;
}

type Env = Record<string, string | undefined>;

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Set when the tool could not be started or timed out. */
  failed?: string;
}

const TIMEOUT_MS = 15_000;

/** Runs a tool with `input` on stdin; never throws. */
function run(cmd: string, args: string[], env: Env, input = ""): Promise<RunResult> {
  return new Promise((resolve) => {
    let stdout = "";
    let stderr = "";
    let done = false;
    const finish = (r: RunResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(r);
    };
    let child;
    try {
      child = spawn(cmd, args, {
        env: env as NodeJS.ProcessEnv,
        stdio: ["pipe", "pipe", "pipe"],
        windowsHide: true,
      });
    } catch (e) {
      resolve({ code: null, stdout, stderr, failed: (e as Error).message });
      return;
    }
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      finish({ code: null, stdout, stderr, failed: `${cmd} did not answer within 15 s` });
    }, TIMEOUT_MS);
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", (e: NodeJS.ErrnoException) =>
      finish({
        code: null,
        stdout,
        stderr,
        failed: e.code === "ENOENT" ? `${cmd} is not installed` : e.message,
      }));
    child.on("close", (code) => finish({ code, stdout, stderr }));
    child.stdin.on("error", () => {});
    child.stdin.end(input);
  });
}

/** The first line of a tool's complaint, or a fallback. */
function firstLine(text: string, fallback: string): string {
  const line = text.split("\n").map((l) => l.trim()).find((l) => l !== "");
  return line ? line.slice(0, 200) : fallback;
}

/** Linux (and other freedesktop systems): the Secret Service through libsecret's secret-tool. */
function secretService(env: Env): Keychain {
  const attrs = (account: string) => ["service", KEYCHAIN_SERVICE, "account", account];
  return {
    name: "the Secret Service (secret-tool)",
    async lookup(account) {
      const r = await run("secret-tool", ["lookup", ...attrs(account)], env);
      if (r.failed) {
        return {
          unusable: r.failed.includes("not installed")
            ? "secret-tool is not installed (Debian/Ubuntu: apt install libsecret-tools)"
            : r.failed,
        };
      }
      if (r.code === 0) return { found: r.stdout.trim() };
      // Not found: exit 1 and silence. Anything on stderr means the service is unreachable
      // (no D-Bus session, no Secret Service running, a locked keyring).
      if (r.code === 1 && r.stderr.trim() === "") return { missing: true };
      return { unusable: firstLine(r.stderr, `secret-tool exited with ${r.code}`) };
    },
    async store(account, secret) {
      const r = await run(
        "secret-tool",
        ["store", "--label", `ccmux token key (${account})`, ...attrs(account)],
        env,
        secret,
      );
      if (r.failed) throw new Error(r.failed);
      if (r.code !== 0) throw new Error(firstLine(r.stderr, `secret-tool exited with ${r.code}`));
    },
  };
}

/** macOS: the login keychain through `security` (untested here). */
function macKeychain(env: Env): Keychain {
  // `security -i` reads commands from stdin, so the secret is not on any command line.
  const quote = (s: string) => `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
  return {
    name: "the macOS Keychain (security)",
    async lookup(account) {
      const r = await run(
        "/usr/bin/security",
        ["find-generic-password", "-s", KEYCHAIN_SERVICE, "-a", account, "-w"],
        env,
      );
      if (r.failed) return { unusable: r.failed };
      if (r.code === 0) return { found: r.stdout.trim() };
      if (r.code === 44) return { missing: true }; // errSecItemNotFound
      return { unusable: firstLine(r.stderr, `security exited with ${r.code}`) };
    },
    async store(account, secret) {
      const cmd = `add-generic-password -U -s ${quote(KEYCHAIN_SERVICE)} -a ${quote(account)} ` +
        `-l ${quote("ccmux token key")} -w ${quote(secret)}\n`;
      const r = await run("/usr/bin/security", ["-i"], env, cmd);
      if (r.failed) throw new Error(r.failed);
      if (r.code !== 0 || /error/i.test(r.stderr)) {
        throw new Error(firstLine(r.stderr, `security exited with ${r.code}`));
      }
    },
  };
}

/** Windows: a generic credential in the Credential Manager, via PowerShell (untested here). */
function windowsCredentials(env: Env): Keychain {
  const target = (account: string) => `${KEYCHAIN_SERVICE}:${account}`;
  const ps = (body: string, input = "") => {
    const script = `$ErrorActionPreference = 'Stop'\n${WIN_CRED_TYPE}\n${body}`;
    // -EncodedCommand: UTF-16LE base64, so no quoting of the script itself is needed.
    let bin = "";
    for (let i = 0; i < script.length; i++) {
      const c = script.charCodeAt(i);
      bin += String.fromCharCode(c & 0xff, c >> 8);
    }
    return run(
      "powershell.exe",
      ["-NoProfile", "-NonInteractive", "-EncodedCommand", btoa(bin)],
      env,
      input,
    );
  };
  const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;
  return {
    name: "the Windows Credential Manager",
    async lookup(account) {
      const r = await ps(`exit [CcmuxCred]::Read(${lit(target(account))})`);
      if (r.failed) return { unusable: r.failed };
      if (r.code === 0) return { found: r.stdout.trim() };
      if (r.code === 3) return { missing: true };
      return { unusable: firstLine(r.stderr, `powershell exited with ${r.code}`) };
    },
    async store(account, secret) {
      const r = await ps(`exit [CcmuxCred]::Write(${lit(target(account))})`, secret);
      if (r.failed) throw new Error(r.failed);
      if (r.code !== 0) throw new Error(firstLine(r.stderr, `powershell exited with ${r.code}`));
    },
  };
}

// CredReadW / CredWriteW (advapi32) for a CRED_TYPE_GENERIC credential; the secret is read from
// stdin on Write and written to stdout on Read. Exit 3: no such credential.
const WIN_CRED_TYPE = `Add-Type -TypeDefinition @'
using System;
using System.Runtime.InteropServices;
using System.Text;
public static class CcmuxCred {
  [StructLayout(LayoutKind.Sequential, CharSet = CharSet.Unicode)]
  private struct CREDENTIAL {
    public int Flags; public int Type; public string TargetName; public string Comment;
    public System.Runtime.InteropServices.ComTypes.FILETIME LastWritten;
    public int CredentialBlobSize; public IntPtr CredentialBlob; public int Persist;
    public int AttributeCount; public IntPtr Attributes; public string TargetAlias;
    public string UserName;
  }
  [DllImport("advapi32.dll", SetLastError = true, CharSet = CharSet.Unicode)]
  private static extern bool CredReadW(string target, int type, int flags, out IntPtr cred);
  [DllImport("advapi32.dll", SetLastError = true, CharSet = CharSet.Unicode)]
  private static extern bool CredWriteW(ref CREDENTIAL cred, int flags);
  [DllImport("advapi32.dll")]
  private static extern void CredFree(IntPtr cred);
  public static int Read(string target) {
    IntPtr p;
    if (!CredReadW(target, 1, 0, out p)) {
      return Marshal.GetLastWin32Error() == 1168 ? 3 : 1;
    }
    try {
      CREDENTIAL c = (CREDENTIAL)Marshal.PtrToStructure(p, typeof(CREDENTIAL));
      byte[] blob = new byte[c.CredentialBlobSize];
      Marshal.Copy(c.CredentialBlob, blob, 0, blob.Length);
      Console.Out.Write(Encoding.UTF8.GetString(blob));
      return 0;
    } finally { CredFree(p); }
  }
  public static int Write(string target) {
    byte[] blob = Encoding.UTF8.GetBytes(Console.In.ReadToEnd().Trim());
    IntPtr mem = Marshal.AllocHGlobal(blob.Length);
    try {
      Marshal.Copy(blob, 0, mem, blob.Length);
      CREDENTIAL c = new CREDENTIAL();
      c.Type = 1; c.TargetName = target; c.CredentialBlobSize = blob.Length;
      c.CredentialBlob = mem; c.Persist = 2; c.UserName = "ccmux";
      return CredWriteW(ref c, 0) ? 0 : 1;
    } finally { Marshal.FreeHGlobal(mem); }
  }
}
'@`;

/** This platform's keychain, or a reason there is none. */
export function systemKeychain(env: Env = process.env): Keychain | { none: string } {
  switch (process.platform) {
    case "darwin":
      return macKeychain(env);
    case "win32":
      return windowsCredentials(env);
    case "linux":
    case "freebsd":
    case "openbsd":
      return secretService(env);
    default:
      return { none: `no keychain support on ${process.platform}` };
  }
}
