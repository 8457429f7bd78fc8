// `ccmux logout`: placeholder until its issue lands.
import { CliError, type Io } from "./io.ts";

export function run(_argv: string[], _io: Io): Promise<number> {
  return Promise.reject(new CliError("logout is not built yet"));
}
